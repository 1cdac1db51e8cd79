/**
 * Opens the fixture federation's HTML report in a real headless Chromium
 * (Debian's package, driven by playwright-core): the page must render its
 * charts and tables with no errors and no request outside the file itself.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { openEventLog } from '../../src/eventlog/open.ts';
import { upToDate } from '../../src/projection/registry.ts';
import { generateReport, READ_MODELS } from '../../src/reports/generate.ts';
import { parsePeriod } from '../../src/reports/period.ts';
import { browser as chromium, skippedTitle } from '../support/chromium.ts';
import { tempDir } from '../support/tmp.ts';
import { buildFederation } from './fixture.ts';

if (!chromium) {
  test.skip(skippedTitle('the HTML report renders in headless Chromium'), () => {});
} else {
  const browser = chromium;
  test('the HTML report renders in headless Chromium without errors, with both charts and every table', async (t) => {
    const { dir, cleanup } = tempDir('fedledger-html-');
    t.teardown(cleanup);
    const log = await openEventLog({ dataDir: dir });
    await buildFederation(log);
    const runners = await upToDate(log, dir, READ_MODELS);
    const out = path.join(dir, 'out');
    await generateReport({
      log,
      readModels: async () => runners,
      period: parsePeriod('2026-10'),
      dir: out,
      now: new Date('2026-11-02T06:00:00Z'),
      trigger: 'cli',
    });
    for (const r of runners.values()) await r.close();
    await log.close();

    const file = path.join(out, 'report.html');
    const url = pathToFileURL(file).href;
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('request', (r) => {
      if (r.url() !== url) problems.push(`external request: ${r.url()}`);
    });
    const response = await page.goto(url, { waitUntil: 'load' });
    t.truthy(response);
    t.is(await page.title(), 'Technical board report 2026-10');

    // Both charts laid out with a real size; one bar per month since the first usage (September), one per monitored
    // site, and the target line.
    for (const id of ['chart-monthly-usage', 'chart-site-availability']) {
      const box = await page.locator(`#${id}`).boundingBox();
      t.true(box !== null && box.width > 300 && box.height > 100, id);
    }
    t.is(await page.locator('#chart-monthly-usage rect.bar').count(), 2);
    t.is(await page.locator('#chart-site-availability rect.bar').count(), 3);
    t.is(await page.locator('#chart-site-availability rect.bar.under').count(), 1);
    t.is(await page.locator('#chart-site-availability line.target').count(), 1);
    const tableIds = await page.locator('table').evaluateAll((tables) => tables.map((e) => e.id));
    t.true(
      tableIds.includes('table-sites') && tableIds.includes('table-communities') && tableIds.includes('table-totals'),
    );
    t.is(await page.locator('#table-sites tbody tr').count(), 4);

    const shot = await page.screenshot({ fullPage: true, path: path.join(out, 'report.png') });
    t.deepEqual([...shot.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    t.true(shot.length > 20_000, `screenshot of ${shot.length} bytes`);
    t.true(readFileSync(file, 'utf8').length > 0);
    await page.close();
    t.deepEqual(problems, []);
  });
}

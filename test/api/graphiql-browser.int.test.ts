/**
 * GraphiQL as a person opens it: headless Chromium (Debian's package, via
 * playwright-core) loads GET /graphql without a token, with every asset
 * served by fedledger itself, and runs a query with a token typed into the
 * headers editor.
 */
import test from 'ava';
import type { Page } from 'playwright-core';
import { browser as chromium, skippedTitle } from '../support/chromium.ts';
import { startHarness } from './harness.ts';

/** Replaces the whole text of one of GraphiQL's (Monaco) editors, named by its model's file name, as typing would. */
async function replaceEditorText(page: Page, file: string, text: string): Promise<void> {
  await page.locator(`.monaco-editor[data-uri$="-${file}"]`).click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  // insertText types the whole string at once, so the editor's bracket and quote auto-closing stays out of it.
  await page.keyboard.insertText(text);
}

if (!chromium) {
  test.skip(skippedTitle('GraphiQL loads without a token or internet and runs a query with one'), () => {});
} else {
  const browser = chromium;
  test('GraphiQL loads without a token or internet and runs a query with one', async (t) => {
    const h = await startHarness();
    t.teardown(() => h.close());
    const token = h.token('staff');
    const page = await browser.newPage();
    t.teardown(() => page.close());
    const outside: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => {
      const url = new URL(r.url());
      // Editor workers are started from blob: URLs the page makes itself.
      if (url.protocol !== 'blob:' && url.protocol !== 'data:' && url.origin !== h.url) outside.push(r.url());
    });
    page.on('pageerror', (e) => errors.push(e.message));

    const response = await page.goto(`${h.url}/graphql`, { waitUntil: 'load' });
    t.is(response?.status(), 200);
    t.is(await page.title(), 'fedledger GraphiQL');
    await page.locator('.graphiql-execute-button').waitFor({ state: 'visible' });
    await page.locator('.monaco-editor[data-uri$="-request-headers.json"]').getByText('Bearer <token>').waitFor();

    await replaceEditorText(page, 'request-headers.json', JSON.stringify({ Authorization: `Bearer ${token}` }));
    await replaceEditorText(page, 'operation.graphql', '{ sites { name ngi } }');
    await page.locator('.graphiql-execute-button').click();
    const result = page.locator('.graphiql-response');
    await result.getByText('SITE-B').waitFor();
    const text = (await result.innerText()).replace(/\s+/g, ' ');
    t.regex(text, /"name": "SITE-A", "ngi": "NGI_X"/);
    t.notRegex(text, /UNAUTHENTICATED/);
    t.deepEqual(outside, [], 'no request leaves the server');
    t.deepEqual(errors, []);
  });
}

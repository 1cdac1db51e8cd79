/**
 * The report of the fixture federation (see fixture.ts), generated through
 * the CLI, against figures worked out by hand.
 */
import test from 'ava';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { main } from '../../src/cli.ts';
import { openEventLog } from '../../src/eventlog/open.ts';
import { listReportRuns } from '../../src/reports/runs.ts';
import { accountingProjection } from '../../projections/accounting/apply.ts';
import { availabilityProjection } from '../../projections/availability/apply.ts';
import { tempDir } from '../support/tmp.ts';
import { buildFederation } from './fixture.ts';

const { dir, cleanup } = tempDir('fedledger-report-');
test.after.always(cleanup);

let built: Promise<bigint> | undefined;
/** Builds the federation once; resolves to the position of the last event the read models read. */
function federation(): Promise<bigint> {
  built ??= (async () => {
    const log = await openEventLog({ dataDir: dir });
    await buildFederation(log);
    const head = await log.headPosition({
      eventTypes: [...new Set([...accountingProjection.eventTypes, ...availabilityProjection.eventTypes])],
    });
    await log.close();
    return head;
  })();
  return built;
}

async function report(...args: string[]): Promise<number> {
  return main(['--data-dir', dir, 'report', ...args]);
}

type Rows = Array<Record<string, unknown>>;
const table = (out: string, name: string): Rows =>
  (JSON.parse(readFileSync(path.join(out, `${name}.json`), 'utf8')) as { rows: Rows }).rows;
const files = (out: string) =>
  new Map(
    readdirSync(out)
      .sort()
      .map((f) => [f, readFileSync(path.join(out, f))]),
  );

test.serial('the October 2026 report of the fixture federation has the hand-computed figures', async (t) => {
  const position = await federation();
  t.is(await report('--period', '2026-10'), 0);
  const out = path.join(dir, 'reports', '2026-10');

  // October VM-months: a1, a2, a3 (SITE-A), b1 (SITE-B), d1 (SITE-D) = 5; September: a1, a3, c1 = 3.
  // Wall hours, October: a1 136800−36000 s = 28 h; a2 24 h; a3 3600−7200 s = −1 h (negative difference, kept);
  //   b1 10 h; d1 2 h → 63 h. September: a1 10 h; a3 2 h; c1 5 h → 17 h.
  // CPU-core hours, October: 28×2 + 24×4 − 1×1 + 10×1 + 2×0.5 = 56 + 96 − 1 + 10 + 1 = 162;
  //   September: 10×2 + 2×1 + 5×8 = 62.
  // Changes: +2 VMs (+66.7 %), +46 wall hours (46/17 = +270.6 %), +100 CPU-core hours (100/62 = +161.3 %).
  t.deepEqual(table(out, 'totals'), [
    { measure: 'VM-months', current: 5, previous: 3, change: 2, changePercent: 66.7 },
    { measure: 'Wall hours', current: 63, previous: 17, change: 46, changePercent: 270.6 },
    { measure: 'CPU-core hours', current: 162, previous: 62, change: 100, changePercent: 161.3 },
  ]);
  t.is(
    readFileSync(path.join(out, 'totals.csv'), 'utf8'),
    'measure,current,previous,change,changePercent\nVM-months,5,3,2,+66.7\nWall hours,63.00,17.00,46.00,+270.6\nCPU-core hours,162.00,62.00,100.00,+161.3\n',
  );

  // Availability, October (31 days, no downtimes):
  //   SITE-A OK all month → 100 / 100, unknown 0.
  //   SITE-B CRITICAL Oct 1–10, OK Oct 11–31 → A = R = 21/31 = 67.74 %, unknown 0: under both targets.
  //   SITE-C last results Oct 15; Oct 16 keeps that status (our deliberate difference from ARGO), Oct 17–31
  //     MISSING → up 16 days, unknown 15 days: A = R = 16/16 = 100 %, unknown 15/31 = 48.39 % > 10 %.
  //   SITE-D is not monitored at all.
  // Usage per site, October: A = a1+a2+a3 = 3 VMs, 28+24−1 = 51 h, 56+96−1 = 151 core-h; B = 1, 10, 10; D = 1, 2, 1; C = 0.
  t.deepEqual(table(out, 'sites'), [
    {
      site: 'SITE-A',
      ngi: 'NGI_X',
      vmMonths: 3,
      wallHours: 51,
      cpuCoreHours: 151,
      availabilityPercent: 100,
      reliabilityPercent: 100,
      unknownPercent: 0,
      meetsTargets: true,
    },
    {
      site: 'SITE-B',
      ngi: 'NGI_X',
      vmMonths: 1,
      wallHours: 10,
      cpuCoreHours: 10,
      availabilityPercent: 67.74,
      reliabilityPercent: 67.74,
      unknownPercent: 0,
      meetsTargets: false,
    },
    {
      site: 'SITE-C',
      ngi: 'NGI_X',
      vmMonths: 0,
      wallHours: 0,
      cpuCoreHours: 0,
      availabilityPercent: 100,
      reliabilityPercent: 100,
      unknownPercent: 48.39,
      meetsTargets: false,
    },
    {
      site: 'SITE-D',
      ngi: null,
      vmMonths: 1,
      wallHours: 2,
      cpuCoreHours: 1,
      availabilityPercent: null,
      reliabilityPercent: null,
      unknownPercent: null,
      meetsTargets: false,
    },
  ]);
  t.deepEqual(
    table(out, 'sites-under-target').map((r) => [r['site'], r['shortfalls']]),
    [
      ['SITE-B', 'availability 67.74 % < 80 %; reliability 67.74 % < 85 %'],
      ['SITE-C', 'unknown 48.39 % > 10 %'],
      ['SITE-D', 'not monitored in the period'],
    ],
  );
  // SITE-B: August 21/31 = 67.74 %, September 20/30 = 66.67 %, October 67.74 %: three months under 80 %.
  t.deepEqual(table(out, 'sites-under-availability-three-months'), [
    { site: 'SITE-B', month: '2026-08', availabilityPercent: 67.74 },
    { site: 'SITE-B', month: '2026-09', availabilityPercent: 66.67 },
    { site: 'SITE-B', month: '2026-10', availabilityPercent: 67.74 },
  ]);

  // vo.beta: a2 24 h × 4 + b1 10 h × 1 = 34 h, 106 core-h at 2 sites; vo.alpha: a1 28 h (56) + a3 −1 h (−1) + d1 2 h (1)
  // = 29 h, 56 core-h at 2 sites. Ordered by CPU-core hours.
  t.deepEqual(table(out, 'communities'), [
    { vo: 'vo.beta', sites: 2, vmMonths: 2, wallHours: 34, cpuCoreHours: 106 },
    { vo: 'vo.alpha', sites: 2, vmMonths: 3, wallHours: 29, cpuCoreHours: 56 },
  ]);

  // Active = registered + monitored + published. October: A yes; B yes; C not published; D not registered or monitored.
  // September: A yes; B not published; C yes (monitored from Sep 1, published c1). So B joined, C left.
  t.deepEqual(table(out, 'resource-centres'), [
    { site: 'SITE-A', registered: true, monitored: true, published: true, active: true },
    { site: 'SITE-B', registered: true, monitored: true, published: true, active: true },
    { site: 'SITE-C', registered: true, monitored: true, published: false, active: false },
    { site: 'SITE-D', registered: false, monitored: false, published: true, active: false },
  ]);
  t.deepEqual(table(out, 'active-resource-centres'), [
    { site: 'SITE-A', active: true, change: '' },
    { site: 'SITE-B', active: true, change: 'joined' },
    { site: 'SITE-C', active: false, change: 'left' },
  ]);
  // Communities that ran VMs: October alpha, beta; September alpha, gamma.
  t.deepEqual(table(out, 'active-communities'), [
    { vo: 'vo.alpha', active: true, change: '' },
    { vo: 'vo.beta', active: true, change: 'joined' },
    { vo: 'vo.gamma', active: false, change: 'left' },
  ]);

  // Silent: candidates are the registered sites A, B, C (and September's publishers A, C). Last received before
  // Nov 1: A Oct 29, B Oct 28 (both within the last 7 days), C Sep 6 → C only.
  t.deepEqual(table(out, 'silent-publishers'), [{ site: 'SITE-C', lastReceived: '2026-09-06T00:00:00Z' }]);
  // vm-b2's WallDuration "1.5" is not an integer: one record of SITE-B quarantined on Oct 28, unresolved.
  t.deepEqual(table(out, 'quarantine'), [{ site: 'SITE-B', rejected: 1, unresolved: 1 }]);
  t.deepEqual(
    table(out, 'negative-differences').map((r) => [r['site'], r['month'], r['vmUuid']]),
    [['SITE-A', '2026-10', 'vm-a3']],
  );
  // The trailing year starts at the first month with usage: September.
  t.deepEqual(table(out, 'monthly-usage'), [
    { month: '2026-09', vmMonths: 3, wallHours: 17, cpuCoreHours: 62 },
    { month: '2026-10', vmMonths: 5, wallHours: 63, cpuCoreHours: 162 },
  ]);

  const markdown = readFileSync(path.join(out, 'report.md'), 'utf8');
  t.true(markdown.includes(`at position ${position}`));
  t.true(
    markdown.includes(
      '2 active resource centres: SITE-A, SITE-B. Joined since 2026-09: SITE-B. Left since 2026-09: SITE-C.',
    ),
  );
  t.true(
    readFileSync(path.join(out, 'report.html'), 'utf8').includes(
      `<meta name="fedledger-log-position" content="${position}">`,
    ),
  );

  const runs = await (async () => {
    const log = await openEventLog({ dataDir: dir });
    try {
      return await listReportRuns(log, '2026-10');
    } finally {
      await log.close();
    }
  })();
  t.is(runs.length, 1);
  t.like(runs[0], { period: '2026-10', trigger: 'cli', position, directory: out, scheduledFor: null });
  t.deepEqual(
    runs[0]!.files.map((f) => f.name),
    [...files(out).keys()],
  );
});

test.serial('the same log and period give byte-identical files, also from rebuilt read models', async (t) => {
  await federation();
  const first = path.join(dir, 'again-1');
  const second = path.join(dir, 'again-2');
  t.is(await report('--period', '2026-10', '--out', first), 0);
  // A ReportGenerated event has been appended since; it is not an input and must not change the report.
  rmSync(path.join(dir, 'projections'), { recursive: true });
  t.is(await report('--period', '2026-10', '--out', second), 0);
  const a = files(first);
  const b = files(second);
  t.deepEqual([...a.keys()], [...b.keys()]);
  t.true(a.size >= 2 + 2 * 11);
  for (const [name, bytes] of a) t.true(bytes.equals(b.get(name)!), name);
});

test.serial('a quarter report covers its three months and compares with the previous quarter', async (t) => {
  await federation();
  const out = path.join(dir, 'q3');
  t.is(await report('--period', '2026-Q3', '--out', out), 0);
  // Q3 holds September's usage only (3 VMs, 17 h, 62 core-h); Q2 had none, so the change has no percentage.
  t.deepEqual(table(out, 'totals')[0], {
    measure: 'VM-months',
    current: 3,
    previous: 0,
    change: 3,
    changePercent: null,
  });
  // SITE-B over Q3 (Aug 1 – Sep 30 monitored, July MISSING): up 21 + 20 = 41 days, unknown 31 days (July),
  // A = 41/(92−31) = 67.21 %, unknown 31/92 = 33.70 %.
  const b = table(out, 'sites').find((r) => r['site'] === 'SITE-B');
  t.like(b, { availabilityPercent: 67.21, unknownPercent: 33.7 });
});

test.serial('unfinished and malformed periods are refused with exit code 1', async (t) => {
  await federation();
  t.is(await report('--period', '2999-01'), 1);
  t.is(await report('--period', '2026-13'), 1);
  t.is(await report(), 1);
});

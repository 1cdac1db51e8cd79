/**
 * Composition and rendering rules on hand-made query results (no read model).
 */
import test from 'ava';
import type { SummaryRow } from '../../src/accounting/summary.ts';
import { composeReport, type ComposeInput, shortfalls } from '../../src/reports/compose.ts';
import { DEFAULT_TARGETS } from '../../src/reports/model.ts';
import { parsePeriod } from '../../src/reports/period.ts';
import { renderHtml } from '../../src/reports/render-html.ts';
import { formatCell, jsonCell, reportTables, tableCsv } from '../../src/reports/render-tables.ts';

const row = (
  site: string,
  month: string,
  vo: string | null,
  vms: number,
  wallSeconds: number | null,
  cpuCount: number | null,
): SummaryRow => ({
  siteName: site,
  cloudComputeService: null,
  year: Number(month.slice(0, 4)),
  month: Number(month.slice(5)),
  globalUserName: null,
  vo,
  voGroup: null,
  voRole: null,
  status: 'started',
  cloudType: null,
  imageId: null,
  earliestStartTime: null,
  latestStartTime: null,
  wallDuration: wallSeconds,
  cpuDuration: null,
  cpuCount,
  networkInbound: null,
  networkOutbound: null,
  memory: null,
  disk: null,
  benchmarkType: null,
  benchmark: 0,
  numberOfVms: vms,
});

const input = (over: Partial<ComposeInput> = {}): ComposeInput => ({
  period: parsePeriod('2026-Q4'),
  position: 42n,
  summaries: [],
  availability: [],
  previousAvailability: [],
  threeMonthsUnder: [],
  registeredSites: [],
  lastReceived: [],
  silentAfterSeconds: 7 * 86_400,
  quarantine: [],
  flags: [],
  ...over,
});

test('a quarter sums its three months; the previous quarter is the baseline', (t) => {
  const c = composeReport(
    input({
      summaries: [
        row('S', '2026-09', 'v', 1, 3600, 2), // previous quarter: 1 VM, 1 h, 2 core-h
        row('S', '2026-10', 'v', 2, 7200, 4), // 2 VMs, 2 h, 8 core-h
        row('S', '2026-12', 'v', 1, 1800, null), // 1 VM, 0.5 h, no CpuCount → 0 core-h
        row('S', '2027-01', 'v', 5, 36000, 1), // next quarter: ignored
      ],
    }),
  );
  t.deepEqual(c.totals, {
    current: { vms: 3, wallHours: 2.5, cpuCoreHours: 8 },
    previous: { vms: 1, wallHours: 1, cpuCoreHours: 2 },
  });
  t.deepEqual(c.period, {
    name: '2026-Q4',
    kind: 'quarter',
    from: '2026-10-01',
    to: '2026-12-31',
    months: ['2026-10', '2026-11', '2026-12'],
  });
  t.deepEqual(c.monthly.map((m) => m.month).slice(0, 2), ['2026-01', '2026-02']);
});

test('shortfalls name every target missed; an undefined availability is not a number below target', (t) => {
  const site = { site: 'S', group: null };
  t.deepEqual(shortfalls({ ...site, availability: 80, reliability: 85, unknown: 0.1 }, DEFAULT_TARGETS), []);
  t.deepEqual(shortfalls({ ...site, availability: 79.994, reliability: 84.9, unknown: 0.1001 }, DEFAULT_TARGETS), [
    'availability 79.99 % < 80 %',
    'reliability 84.90 % < 85 %',
    'unknown 10.01 % > 10 %',
  ]);
  t.deepEqual(shortfalls({ ...site, availability: -1, reliability: -1, unknown: 1 }, DEFAULT_TARGETS), [
    'availability undefined (no known status)',
    'unknown 100.00 % > 10 %',
  ]);
  t.deepEqual(shortfalls(undefined, DEFAULT_TARGETS), ['not monitored in the period']);
});

test('a community without a VO is reported as (none) but never counts as an active community', (t) => {
  const c = composeReport(
    input({ summaries: [row('S', '2026-11', null, 1, 3600, 1), row('S', '2026-11', 'v', 1, 3600, 1)] }),
  );
  t.deepEqual(c.communities.map((v) => v.vo).sort(), ['(none)', 'v']);
  t.deepEqual(c.activeCommunities, { active: ['v'], joined: ['v'], left: [] });
});

test('quarantined records count in the period they were received in, by site', (t) => {
  const c = composeReport(
    input({
      quarantine: [
        { siteName: 'S', receivedAt: '2026-09-30T23:59:59Z', resolution: null },
        { siteName: 'S', receivedAt: '2026-10-01T00:00:00Z', resolution: 'dismissed' },
        { siteName: null, receivedAt: '2026-12-31T23:59:59.999Z', resolution: null },
        { siteName: 'S', receivedAt: '2027-01-01T00:00:00Z', resolution: null },
      ],
    }),
  );
  t.deepEqual(c.dataQuality.quarantine, [
    { site: '(unknown)', rejected: 1, unresolved: 1 },
    { site: 'S', rejected: 1, unresolved: 0 },
  ]);
});

test('numbers have fixed decimals, no negative zero, and JSON rounds like the text', (t) => {
  t.is(formatCell(-0.001, 'hours'), '0.00');
  t.is(formatCell(-0.04, 'change'), '0.0');
  t.is(formatCell(12.345, 'change'), '+12.3');
  t.is(formatCell(2.5, 'int'), '3');
  t.is(jsonCell(-0.001, 'hours'), 0);
  t.is(jsonCell(67.7419, 'percent'), 67.74);
  t.is(formatCell(null, 'percent'), '');
  t.is(formatCell(true, 'flag'), 'yes');
});

test('CSV quotes commas, quotes and line breaks; HTML escapes names', (t) => {
  const c = composeReport(input({ summaries: [row('A, "B"\nC', '2026-11', '<vo>', 1, 3600, 1)] }));
  const sites = reportTables(c).find((x) => x.name === 'sites')!;
  t.is(tableCsv(sites).split('\n')[1], '"A, ""B""');
  const html = renderHtml(c);
  t.true(html.includes('&lt;vo&gt;'));
  t.false(html.includes('<vo>'));
  t.false(/<(script|link|img)\b/i.test(html));
});

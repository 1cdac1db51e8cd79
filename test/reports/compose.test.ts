/**
 * Composition and rendering rules on hand-made query results (no read model).
 */
import test from 'ava';
import type { SummaryRow } from '../../src/accounting/summary.ts';
import { composeReport, type ComposeInput, participationChange, shortfalls } from '../../src/reports/compose.ts';
import { DEFAULT_TARGETS } from '../../src/reports/model.ts';
import { parsePeriod } from '../../src/reports/period.ts';
import { renderHtml } from '../../src/reports/render-html.ts';
import { renderMarkdown } from '../../src/reports/render-markdown.ts';
import {
  formatCell,
  groupThousands,
  jsonCell,
  readableCell,
  reportTables,
  tableCsv,
} from '../../src/reports/render-tables.ts';

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
  rejectedInputs: [],
  flags: [],
  integration: [],
  voUsageSpans: [],
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
  t.deepEqual(c.monthly.map((m) => m.month).slice(0, 2), ['2026-09', '2026-10']);
});

test('the trailing months start at the first month with data; the period itself always shows', (t) => {
  const months = (summaries: SummaryRow[]) => composeReport(input({ summaries })).monthly.map((m) => m.month);
  t.deepEqual(months([row('S', '2026-08', 'v', 1, 3600, 1)]), ['2026-08', '2026-09', '2026-10', '2026-11', '2026-12']);
  t.deepEqual(months([row('S', '2026-11', 'v', 1, 3600, 1)]), ['2026-10', '2026-11', '2026-12']);
  t.deepEqual(months([row('S', '2025-06', 'v', 1, 3600, 1)]).length, 12, 'data before the trailing year: all 12');
  t.deepEqual(months([]), ['2026-10', '2026-11', '2026-12']);
});

test('the report says VM-months, groups thousands for people and keeps CSV plain', (t) => {
  const c = composeReport(input({ summaries: [row('S', '2026-11', 'v', 1234, 3600 * 1_234_567.5, 2)] }));
  const tables = new Map(reportTables(c).map((x) => [x.name, x]));
  t.is(tableCsv(tables.get('totals')!).split('\n')[1], 'VM-months,1234,0,1234,');
  t.is(
    tableCsv(tables.get('sites')!).split('\n')[0],
    ['site,ngi,vmMonths,wallHours,cpuCoreHours,availabilityPercent,reliabilityPercent,unknownPercent,meetsTargets'][0],
  );
  t.is(tables.get('sites')!.columns.find((col) => col.key === 'vmMonths')!.header, 'VM-months');
  const markdown = renderMarkdown(c);
  t.true(markdown.includes('1,234 VM-months (+1,234), 1,234,567.50 wall hours (+1,234,567.50)'), markdown);
  t.true(markdown.includes('| S |  | 1,234 | 1,234,567.50 | 2,469,135.00 |'));
  t.false(/\d VMs|\| VMs \|/.test(markdown));
  t.is(groupThousands('-1234567.891'), '-1,234,567.891');
  t.is(groupThousands('+999'), '+999');
  t.is(readableCell(1000, 'change'), '+1,000.0');
  t.is(readableCell('12345', 'text'), '12345');
});

test('a period without usage records says so instead of a fall of 100 %', (t) => {
  const c = composeReport(
    input({ summaries: [row('S', '2026-09', 'v', 3, 7200, 1)], registeredSites: ['S'], lastReceived: [] }),
  );
  const markdown = renderMarkdown(c);
  t.true(markdown.includes('No usage records in this period. 2026-Q3: 3 VM-months, 2.00 wall hours'), markdown);
  t.false(markdown.includes('-100'));
  t.true(markdown.includes('| VM-months | 0 | 3 | -3 | n/a |'));
  // A silent publisher that never sent anything before the period's end reads so, not as an empty date.
  t.deepEqual(c.dataQuality.silentPublishers, [{ site: 'S', lastReceived: null }]);
  t.true(markdown.includes("| S | none before the period's end |"));
  t.is(tableCsv(reportTables(c).find((x) => x.name === 'silent-publishers')!), 'site,lastReceived\nS,\n');
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

test('rejected probe results and GOCDB input count in the period they were received in, by input and publisher', (t) => {
  const rejected = (input: string, publisher: string, receivedAt: string, message: string) => ({
    input,
    publisher,
    receivedAt,
    errors: [{ message }, { message: `${message}, again` }],
  });
  const c = composeReport(
    input({
      rejectedInputs: [
        rejected('probe-result', 'file:probes.jsonl', '2026-09-30T23:59:59Z', 'before the quarter'),
        rejected('probe-result', 'file:probes.jsonl', '2026-10-01T00:00:00Z', 'probes.jsonl line 3 field status: bad'),
        rejected('gocdb', 'gocdb:https://goc.example.org', '2026-11-02T10:00:00Z', 'get_downtime line 1: cut short'),
        rejected('probe-result', 'file:probes.jsonl', '2026-12-31T23:59:59Z', 'probes.jsonl line 9: not JSON'),
        rejected('probe-result', 'file:probes.jsonl', '2027-01-01T00:00:00Z', 'after the quarter'),
      ],
    }),
  );
  t.deepEqual(c.dataQuality.rejectedInputs, [
    {
      input: 'gocdb',
      publisher: 'gocdb:https://goc.example.org',
      rejected: 1,
      firstError: 'get_downtime line 1: cut short',
    },
    {
      input: 'probe-result',
      publisher: 'file:probes.jsonl',
      rejected: 2,
      firstError: 'probes.jsonl line 3 field status: bad',
    },
  ]);
  t.is(reportTables(c).find((x) => x.name === 'rejected-inputs')!.rows.length, 2);
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

test("participation: what changed between the periods' ends, and left for a site silent all the period", (t) => {
  t.is(participationChange(null, 'partial', true), 'joined');
  t.is(participationChange('not started', 'integrated', true), 'joined, completed integration');
  t.is(participationChange('partial', 'integrated', true), 'completed integration');
  t.is(participationChange('lapsed', 'integrated', true), 'completed integration');
  t.is(participationChange('integrated', 'lapsed', true), 'lapsed');
  t.is(participationChange('integrated', 'lapsed', false), 'left');
  t.is(participationChange('partial', 'partial', false), 'left');
  t.is(participationChange('integrated', 'integrated', true), '');
  t.is(participationChange(null, 'not started', false), '', 'a candidate that has not begun has not left');

  const nov = Date.UTC(2026, 10, 1) / 1000;
  const c = composeReport(
    input({
      period: parsePeriod('2026-11'),
      integration: [
        {
          site: 'LAPSING',
          history: [
            { day: '2026-09-02', state: 'partial' },
            { day: '2026-09-20', state: 'integrated' },
            { day: '2026-11-12', state: 'lapsed' },
          ],
          lastActivity: nov + 86_400,
        },
        {
          site: 'NEW',
          history: [
            { day: '2026-11-03', state: 'partial' },
            { day: '2026-11-25', state: 'integrated' },
            { day: '2026-12-02', state: 'lapsed' },
          ],
          lastActivity: nov + 20 * 86_400,
        },
        { site: 'GONE', history: [{ day: '2026-08-01', state: 'integrated' }], lastActivity: nov - 86_400 },
        { site: 'CANDIDATE', history: [{ day: '2026-11-30', state: 'not started' }], lastActivity: null },
      ],
    }),
  );
  t.deepEqual(c.participants, [
    { site: 'CANDIDATE', state: 'not started', since: null, change: '' },
    { site: 'GONE', state: 'integrated', since: '2026-08-01', change: 'left' },
    { site: 'LAPSING', state: 'lapsed', since: '2026-11-12', change: 'lapsed' },
    // States after the period's end do not count.
    { site: 'NEW', state: 'integrated', since: '2026-11-25', change: 'joined, completed integration' },
  ]);
});

test('user communities: active VOs with their first and last usage, sites used and VM hours in the period', (t) => {
  const c = composeReport(
    input({
      period: parsePeriod('2026-11'),
      summaries: [
        row('S1', '2026-11', 'v', 2, 7200, 1),
        row('S2', '2026-11', 'v', 1, 3600, 4),
        row('S1', '2026-10', 'w', 1, 3600, 1),
      ],
      voUsageSpans: [
        { vo: 'v', first: 202603, last: 202611 },
        { vo: 'w', first: 202610, last: 202610 },
      ],
    }),
  );
  t.deepEqual(c.userCommunities, [
    { vo: 'v', firstUsage: '2026-03', lastUsage: '2026-11', sites: ['S1', 'S2'], vmHours: 3 },
  ]);
});

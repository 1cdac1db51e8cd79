import test from 'ava';
import {
  formatYearMonth,
  measurementTime,
  parseYearMonth,
  recordFlags,
  yearMonthOf,
} from '../../src/accounting/measurement.ts';
import { summariesCsv, summariesJson, summaryMessages } from '../../src/accounting/render.ts';
import {
  difference,
  monthlyDifferences,
  summarise,
  type VmMonth,
  withMonthlyDifferences,
} from '../../src/accounting/summary.ts';
import { EMPTY_RECORD } from '../../src/ingest/apel-message.ts';

const rec = (over: Partial<typeof EMPTY_RECORD>) => ({ ...EMPTY_RECORD, vmUuid: 'vm', siteName: 'S', ...over });

test('measurement time: EndTime if completed, else RecordCreateTime, else Start + Suspend + Wall', (t) => {
  t.is(measurementTime(rec({ status: 'completed', endTime: 500, startTime: 1, wallDuration: 9 })), 500);
  t.is(
    measurementTime(rec({ status: 'started', endTime: 500, startTime: 100, suspendDuration: 5, wallDuration: 10 })),
    115,
  );
  t.is(measurementTime(rec({ status: 'started', recordCreateTime: 300, startTime: 100, wallDuration: 10 })), 300);
  t.is(measurementTime(rec({ status: 'completed', startTime: 100, wallDuration: null })), 100);
  t.is(measurementTime(rec({})), null);
});

test('UTC month boundaries, December to January', (t) => {
  t.is(yearMonthOf(Date.UTC(2025, 11, 31, 23, 59, 59) / 1000), 202512);
  t.is(yearMonthOf(Date.UTC(2026, 0, 1) / 1000), 202601);
  // SAMPLE-SITE in the reference: 1764592012 + 15679988 is exactly 2026-06-01T00:00:00Z.
  t.is(yearMonthOf(1764592012 + 15679988), 202606);
  t.is(parseYearMonth('2026-01'), 202601);
  t.is(parseYearMonth('2026-13'), null);
  t.is(formatYearMonth(202512), '2025-12');
});

test('record flags are judged against the receipt time, with 10 minutes of clock skew allowed', (t) => {
  const r = rec({ startTime: 1000, wallDuration: 600 });
  t.deepEqual(recordFlags(r, 1000), []);
  t.deepEqual(
    recordFlags(r, 999).map((f) => f.kind),
    ['future_measurement'],
  );
  t.deepEqual(
    recordFlags(rec({}), 0).map((f) => f.kind),
    ['no_measurement_time'],
  );
});

test('differences: null stays null, a missing previous month counts as 0, negatives are kept', (t) => {
  t.is(difference(null, 5), null);
  t.is(difference(10, undefined), 10);
  t.is(difference(10, null), 10);
  t.is(difference(3, 10), -7);
  t.deepEqual(
    monthlyDifferences(
      { wallDuration: 100, cpuDuration: 50, networkInbound: null, networkOutbound: 4 },
      { wallDuration: 40, cpuDuration: 60, networkInbound: 7, networkOutbound: null },
    ),
    { wallDuration: 60, cpuDuration: -10, networkInbound: null, networkOutbound: 4 },
  );
});

const vm = (over: Partial<VmMonth>): VmMonth => ({
  vmUuid: 'vm',
  ym: 202601,
  keptPosition: 1,
  siteName: 'S',
  cloudComputeService: null,
  globalUserName: null,
  vo: 'v',
  voGroup: null,
  voRole: null,
  status: 'started',
  imageId: null,
  cpuCount: 1,
  benchmarkType: null,
  benchmark: null,
  cloudType: 'a',
  startTime: 100,
  memory: 10,
  disk: null,
  wallDuration: 0,
  cpuDuration: 0,
  networkInbound: null,
  networkOutbound: null,
  ...over,
});
const diff = (wall: number | null) => ({
  wallDuration: wall,
  cpuDuration: null,
  networkInbound: null,
  networkOutbound: null,
});

test("monthly differences are taken within a site's VM: the same VMUUID at another site is another VM", (t) => {
  // SITE-B's VM reuses SITE-A's VMUUID; its first month is differenced against nothing, and SITE-A's February
  // against SITE-A's January, whichever site sorts or arrives first.
  const months = [
    vm({ siteName: 'SITE-B', vmUuid: 'x', ym: 202601, wallDuration: 40 }),
    vm({ siteName: 'SITE-A', vmUuid: 'x', ym: 202602, wallDuration: 250 }),
    vm({ siteName: 'SITE-A', vmUuid: 'x', ym: 202601, wallDuration: 100 }),
    vm({ siteName: 'SITE-B', vmUuid: 'x', ym: 202603, wallDuration: 70 }),
  ];
  const wall = (rows: ReturnType<typeof withMonthlyDifferences>) =>
    rows.map(({ vm: m, diff: d }) => [m.siteName, m.ym, d.wallDuration]);
  const expected = [
    ['SITE-A', 202601, 100],
    ['SITE-A', 202602, 150],
    ['SITE-B', 202601, 40],
    ['SITE-B', 202603, 30],
  ];
  t.deepEqual(wall(withMonthlyDifferences(months)), expected);
  t.deepEqual(wall(withMonthlyDifferences([...months].reverse())), expected);
  // Two VMUUIDs of one site stay apart too.
  t.deepEqual(
    wall(
      withMonthlyDifferences([
        vm({ vmUuid: 'x', ym: 202601, wallDuration: 10 }),
        vm({ vmUuid: 'y', ym: 202602, wallDuration: 25 }),
      ]),
    ),
    [
      ['S', 202601, 10],
      ['S', 202602, 25],
    ],
  );
});

test('the summary counts a VMUUID reported by two sites as one VM of each, with its own figures', (t) => {
  const rows = summarise(
    withMonthlyDifferences([
      vm({ siteName: 'SITE-A', vmUuid: 'x', wallDuration: 100 }),
      vm({ siteName: 'SITE-B', vmUuid: 'x', wallDuration: 40 }),
    ]),
  );
  t.deepEqual(
    rows.map((r) => [r.siteName, r.numberOfVms, r.wallDuration]),
    [
      ['SITE-A', 1, 100],
      ['SITE-B', 1, 40],
    ],
  );
});

test('summarise: APEL grouping, sums of differences, plain sums, min/max start, CloudType of the latest received', (t) => {
  const rows = summarise([
    { vm: vm({ vmUuid: 'a', keptPosition: 7, cloudType: 'late', startTime: 300 }), diff: diff(5) },
    { vm: vm({ vmUuid: 'b', keptPosition: 3, cloudType: 'early', startTime: 100, memory: 20 }), diff: diff(null) },
    { vm: vm({ vmUuid: 'c', cpuCount: 0.5 }), diff: diff(1) },
  ]);
  t.is(rows.length, 2);
  t.like(rows[1], {
    cpuCount: 1,
    numberOfVms: 2,
    wallDuration: 5,
    cpuDuration: null,
    memory: 30,
    disk: null,
    earliestStartTime: 100,
    latestStartTime: 300,
    cloudType: 'late',
    benchmark: 0,
  });
  t.like(rows[0], { cpuCount: 0.5, numberOfVms: 1, wallDuration: 1 });
});

test('rendering: summary messages of at most N records, CSV with empty nulls, JSON with wire names', (t) => {
  const rows = summarise(
    [1, 2, 3].map((i) => ({
      vm: vm({ vmUuid: `v${i}`, siteName: `S${i}`, imageId: i === 2 ? 'img, "x"' : null }),
      diff: diff(i),
    })),
  );
  const messages = summaryMessages(rows, 2);
  t.is(messages.length, 2);
  t.true(messages.every((m) => m.startsWith('APEL-cloud-summary-message: v0.4\nSiteName: ')));
  t.is(messages[0]!.split('%%\n').length - 1, 2);
  t.regex(messages[1]!, /^ImageId: None$/m);
  t.regex(messages[1]!, /^CpuCount: 1\.0$/m);
  const csv = summariesCsv(rows).split('\r\n');
  t.is(
    csv[0],
    'SiteName,CloudComputeService,Month,Year,GlobalUserName,VO,VOGroup,VORole,Status,CloudType,ImageId,EarliestStartTime,LatestStartTime,WallDuration,CpuDuration,CpuCount,NetworkInbound,NetworkOutbound,Memory,Disk,BenchmarkType,Benchmark,NumberOfVMs',
  );
  t.is(csv[2], 'S2,,1,2026,,v,,,started,a,"img, ""x""",100,100,2,,1,,,10,,,0,1');
  const json = JSON.parse(summariesJson(rows)) as Record<string, unknown>[];
  t.like(json[0], { SiteName: 'S1', ImageId: null, WallDuration: 1, NumberOfVMs: 1 });
});

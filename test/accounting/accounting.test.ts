import test from 'ava';
import { summaryMessages } from '../../src/accounting/render.ts';
import { resubmitCorrected, SiteMismatchError } from '../../src/ingest/apel-service.ts';
import { ingestMany } from '../../src/ingest/ingest-many.ts';
import {
  queryQualityFlags,
  queryQuarantine,
  lastReceived,
  querySummaries,
  queryVmMonths,
} from '../../projections/accounting/queries.ts';
import { quarantinedMessageText } from '../../src/ingest/quarantine.ts';
import { epoch, ledger, message, record } from './support.ts';

const DEC20 = epoch('2025-12-20T00:00:00Z');
const JAN10 = epoch('2026-01-10T00:00:00Z');
const DAY = 86_400;

const pick = (rows: ReturnType<typeof querySummaries>) =>
  rows.map((r) => ({
    y: r.year,
    m: r.month,
    wall: r.wallDuration,
    cpu: r.cpuDuration,
    in: r.networkInbound,
    vms: r.numberOfVms,
  }));

test('December to January: each month gets the difference from the previous kept month', async (t) => {
  const l = await ledger();
  const dec = record({ StartTime: DEC20, WallDuration: 10 * DAY, CpuDuration: 20 * DAY, NetworkInbound: 5 });
  const jan = record({ StartTime: DEC20, WallDuration: 15 * DAY, CpuDuration: 30 * DAY, NetworkInbound: 8 });
  const r = await l.ingest(message('v0.4', dec, jan), '2026-01-05T00:00:00Z');
  t.like(r, { accepted: 2, unchanged: 0, rejected: 0 });
  t.deepEqual(pick(querySummaries(l.runner.db)), [
    { y: 2025, m: 12, wall: 10 * DAY, cpu: 20 * DAY, in: 5, vms: 1 },
    { y: 2026, m: 1, wall: 5 * DAY, cpu: 10 * DAY, in: 3, vms: 1 },
  ]);
  t.deepEqual(
    querySummaries(l.runner.db, { from: 202601, to: 202606 }).map((s) => [s.year, s.month]),
    [[2026, 1]],
  );
  await l.close();
});

test('a republished record replaces its VM-month (last received wins) and shifts the next month; an identical re-send changes nothing', async (t) => {
  const l = await ledger();
  const dec = record({ StartTime: DEC20, WallDuration: 10 * DAY });
  const jan = record({ StartTime: DEC20, WallDuration: 15 * DAY });
  await l.ingest(message('v0.4', dec, jan), '2026-01-05T00:00:00Z');
  // The correction is measured earlier than the original but received later: it wins.
  const corrected = record({ StartTime: DEC20, WallDuration: 9 * DAY });
  t.like(await l.ingest(message('v0.4', corrected), '2026-01-06T00:00:00Z'), { accepted: 1, unchanged: 0 });
  t.deepEqual(
    queryVmMonths(l.runner.db, 'SITE-A', 'vm-1').map((m) => [
      m.ym,
      m.cumulative.wallDuration,
      m.difference.wallDuration,
    ]),
    [
      [202512, 9 * DAY, 9 * DAY],
      [202601, 15 * DAY, 6 * DAY],
    ],
  );
  const head = await l.log.headPosition();
  t.like(await l.ingest(message('v0.4', dec), '2026-01-07T00:00:00Z'), { accepted: 0, unchanged: 1, rejected: 0 });
  t.is(await l.log.headPosition(), head);
  t.deepEqual(
    pick(querySummaries(l.runner.db)).map((s) => s.wall),
    [9 * DAY, 6 * DAY],
  );
  await l.close();
});

test("a VMUUID another site reported is that site's own VM: its months, differences and late records stay apart, and it is flagged once", async (t) => {
  const l = await ledger();
  const month = (day: string) => epoch(`${day}T00:00:00Z`);
  const fields = (created: string, wall: number) => ({
    StartTime: DEC20,
    WallDuration: wall * DAY,
    RecordCreateTime: month(created),
  });
  const a = (created: string, wall: number) => record(fields(created, wall));
  const b = (created: string, wall: number) => record({ ...fields(created, wall), SiteName: 'SITE-B' });
  await l.ingest(message('v0.4', a('2026-01-10', 10), a('2026-02-10', 20)), '2026-02-11T00:00:00Z');
  await l.ingest(message('v0.4', b('2026-02-12', 3)), '2026-02-13T00:00:00Z');
  await l.ingest(message('v0.4', a('2026-03-10', 25)), '2026-03-11T00:00:00Z');
  // A late January record of SITE-B's VM shifts SITE-B's February only.
  await l.ingest(message('v0.4', b('2026-01-20', 1)), '2026-03-12T00:00:00Z');
  const months = (site: string) =>
    queryVmMonths(l.runner.db, site, 'vm-1').map((m) => [m.ym, m.cumulative.wallDuration, m.difference.wallDuration]);
  const expected = () => {
    t.deepEqual(months('SITE-A'), [
      [202601, 10 * DAY, 10 * DAY],
      [202602, 20 * DAY, 10 * DAY],
      [202603, 25 * DAY, 5 * DAY],
    ]);
    t.deepEqual(months('SITE-B'), [
      [202601, 1 * DAY, 1 * DAY],
      [202602, 3 * DAY, 2 * DAY],
    ]);
    t.deepEqual(
      querySummaries(l.runner.db).map((s) => [s.siteName, s.month, s.numberOfVms, s.wallDuration]),
      [
        ['SITE-A', 1, 1, 10 * DAY],
        ['SITE-A', 2, 1, 10 * DAY],
        ['SITE-A', 3, 1, 5 * DAY],
        ['SITE-B', 1, 1, 1 * DAY],
        ['SITE-B', 2, 1, 2 * DAY],
      ],
    );
    t.deepEqual(
      queryQualityFlags(l.runner.db).map((f) => [f.siteName, f.vmUuid, f.kind, f.ym]),
      [['SITE-B', 'vm-1', 'vmuuid_at_other_site', 202602]],
    );
  };
  expected();
  await l.runner.rebuild();
  expected();
  await l.close();
});

test('a completed VM is measured at its EndTime; completed without EndTime is flagged and measured as running', async (t) => {
  const l = await ledger();
  const done = record({
    VMUUID: 'vm-done',
    Status: 'completed',
    StartTime: JAN10,
    EndTime: epoch('2026-02-02T00:00:00Z'),
    WallDuration: DAY,
  });
  const noEnd = record({ VMUUID: 'vm-noend', Status: 'completed', StartTime: JAN10, WallDuration: DAY, CpuCount: 1 });
  await l.ingest(message('v0.4', done, noEnd), '2026-02-03T00:00:00Z');
  t.deepEqual(
    querySummaries(l.runner.db).map((s) => [s.year, s.month, s.status, s.cpuCount]),
    [
      [2026, 1, 'completed', 1],
      [2026, 2, 'completed', 2],
    ],
  );
  t.deepEqual(
    queryQualityFlags(l.runner.db).map((f) => [f.vmUuid, f.kind, f.ym]),
    [['vm-noend', 'completed_without_end', 202601]],
  );
  await l.close();
});

test('v0.2 and v0.4 in one run; both FQAN forms; fractional CpuCount', async (t) => {
  const l = await ledger();
  const v02 = message(
    'v0.2',
    record({
      VMUUID: 'one-1',
      SiteName: 'SITE-B',
      CloudComputeService: null,
      FQAN: '/ops/Role=NULL/Capability=NULL',
      StartTime: JAN10,
      WallDuration: DAY,
    }),
  );
  const v04 = message(
    'v0.4',
    record({ VMUUID: 'pod-1', CpuCount: 0.5, StartTime: JAN10, WallDuration: DAY, CpuDuration: DAY / 2 }),
  );
  const result = await ingestMany(
    l.log,
    [
      { name: 'one.msg', text: v02 },
      { name: 'caso.msg', text: v04 },
    ],
    { publisher: 'test', receivedAt: new Date('2026-01-12T00:00:00Z') },
  );
  t.like(result, { accepted: 2, rejected: 0 });
  await l.runner.catchUp();
  const rows = querySummaries(l.runner.db);
  t.deepEqual(
    rows.map((s) => [s.siteName, s.cloudComputeService, s.vo, s.voGroup, s.voRole, s.cpuCount]),
    [
      ['SITE-A', 'cloud.site-a.example', 'vo.example.org', null, null, 0.5],
      ['SITE-B', null, 'ops', '/ops', 'Role=NULL', 2],
    ],
  );
  const text = summaryMessages(rows)[0]!;
  t.regex(text, /\nCpuCount: 0\.5\n/);
  t.regex(text, /\nCpuCount: 2\.0\n/);
  await l.close();
});

test('a negative difference is kept and flagged; a correction that removes it clears the flag', async (t) => {
  const l = await ledger();
  const dec = record({ StartTime: DEC20, WallDuration: 10 * DAY });
  // Nova reset the VM's start on resize: its cumulative wall time went down.
  const jan = record({ StartTime: JAN10, WallDuration: DAY });
  await l.ingest(message('v0.4', dec, jan), '2026-01-12T00:00:00Z');
  t.deepEqual(
    pick(querySummaries(l.runner.db, { from: 202601, to: 202601 })).map((s) => s.wall),
    [-9 * DAY],
  );
  const flags = queryQualityFlags(l.runner.db);
  t.deepEqual(
    flags.map((f) => [f.kind, f.ym]),
    [['negative_difference', 202601]],
  );
  t.regex(flags[0]!.detail, /wallDuration -777600/);
  await l.ingest(message('v0.4', record({ StartTime: DEC20, WallDuration: 21 * DAY })), '2026-01-13T00:00:00Z');
  t.deepEqual(queryQualityFlags(l.runner.db), []);
  t.deepEqual(
    pick(querySummaries(l.runner.db, { from: 202601, to: 202601 })).map((s) => s.wall),
    [11 * DAY],
  );
  await l.close();
});

test('CloudType is that of the most recently received record in the group', async (t) => {
  const l = await ledger();
  const y = (wall: number) =>
    record({ VMUUID: 'vm-y', CloudType: 'caso/5.3.0 (OpenStack)', StartTime: JAN10, WallDuration: wall });
  const x = record({ VMUUID: 'vm-x', CloudType: 'caso/5.2.1 (OpenStack)', StartTime: JAN10, WallDuration: DAY });
  await l.ingest(message('v0.4', y(3 * DAY)), '2026-01-14T00:00:00Z');
  // Received later, although measured earlier.
  await l.ingest(message('v0.4', x), '2026-01-15T00:00:00Z');
  t.deepEqual(
    querySummaries(l.runner.db).map((s) => [s.cloudType, s.numberOfVms, s.wallDuration]),
    [['caso/5.2.1 (OpenStack)', 2, 4 * DAY]],
  );
  await l.ingest(message('v0.4', y(4 * DAY)), '2026-01-16T00:00:00Z');
  t.deepEqual(
    querySummaries(l.runner.db).map((s) => [s.cloudType, s.numberOfVms, s.wallDuration]),
    [['caso/5.3.0 (OpenStack)', 2, 5 * DAY]],
  );
  await l.close();
});

test('a VM-month that changes group leaves its old group, which is recomputed', async (t) => {
  const l = await ledger();
  await l.ingest(
    message(
      'v0.4',
      record({ VMUUID: 'vm-1', StartTime: JAN10, WallDuration: DAY }),
      record({ VMUUID: 'vm-2', StartTime: JAN10 + 3600, WallDuration: DAY }),
    ),
    '2026-01-12T00:00:00Z',
  );
  t.deepEqual(
    querySummaries(l.runner.db).map((s) => [s.status, s.numberOfVms, s.earliestStartTime, s.latestStartTime]),
    [['started', 2, JAN10, JAN10 + 3600]],
  );
  await l.ingest(
    message(
      'v0.4',
      record({
        VMUUID: 'vm-1',
        Status: 'completed',
        StartTime: JAN10,
        EndTime: JAN10 + 2 * DAY,
        WallDuration: 2 * DAY,
      }),
    ),
    '2026-01-13T00:00:00Z',
  );
  t.deepEqual(
    querySummaries(l.runner.db).map((s) => [
      s.status,
      s.numberOfVms,
      s.earliestStartTime,
      s.latestStartTime,
      s.wallDuration,
    ]),
    [
      ['completed', 1, JAN10, JAN10, 2 * DAY],
      ['started', 1, JAN10 + 3600, JAN10 + 3600, DAY],
    ],
  );
  await l.close();
});

test('data-quality flags: future measurement, EndTime before StartTime; when each site last sent (the silent-site check)', async (t) => {
  const l = await ledger();
  const future = record({ VMUUID: 'vm-future', StartTime: JAN10, WallDuration: 10 * DAY });
  const backwards = record({ VMUUID: 'vm-back', Status: 'completed', StartTime: JAN10, EndTime: JAN10 - DAY });
  await l.ingest(message('v0.4', future, backwards), '2026-01-12T00:00:00Z');
  t.deepEqual(
    queryQualityFlags(l.runner.db).map((f) => [f.vmUuid, f.kind]),
    [
      ['vm-back', 'end_before_start'],
      ['vm-future', 'future_measurement'],
    ],
  );
  t.deepEqual(lastReceived(l.runner.db, epoch('2026-01-12T00:00:00Z')), []);
  t.deepEqual(lastReceived(l.runner.db, epoch('2026-01-19T00:00:01Z')), [
    { site: 'SITE-A', at: epoch('2026-01-12T00:00:00Z') },
  ]);
  await l.close();
});

test('a site may only submit its own records: the whole message is refused, naming the offending record', async (t) => {
  const l = await ledger();
  const text = message(
    'v0.4',
    record({ VMUUID: 'a', StartTime: JAN10 }),
    record({ VMUUID: 'b', SiteName: 'SITE-B', StartTime: JAN10 }),
  );
  const error = await t.throwsAsync(
    () => l.ingest(text, '2026-01-12T00:00:00Z', { allowedSite: 'SITE-A', messageName: 'push-1' }),
    {
      instanceOf: SiteMismatchError,
    },
  );
  t.is(error.code, 'SITE_MISMATCH');
  t.deepEqual(error.location, { message: 'push-1', record: 2, line: 13, field: 'SiteName' });
  t.is(await l.log.headPosition(), -1n);
  t.like(
    await l.ingest(message('v0.4', record({ StartTime: JAN10 })), '2026-01-12T00:00:00Z', { allowedSite: 'SITE-A' }),
    { accepted: 1 },
  );
  await l.close();
});

test('bad records go to quarantine with the message; valid ones are accepted; a correction is re-submitted', async (t) => {
  const l = await ledger();
  const text = message(
    'v0.4',
    record({ VMUUID: 'ok-1', StartTime: JAN10, WallDuration: DAY }),
    record({ VMUUID: 'bad-2', StartTime: JAN10, WallDuration: '1.5' }),
    record({ VMUUID: 'ok-3', StartTime: JAN10, WallDuration: DAY }),
  );
  const result = await l.ingest(text, '2026-01-12T00:00:00Z', { messageName: 'site-a/0007' });
  t.deepEqual(result, {
    accepted: 2,
    unchanged: 0,
    rejected: 1,
    errors: [
      {
        message: 'site-a/0007',
        record: 2,
        line: 24,
        field: 'WallDuration',
        reason: '"1.5" is not a non-negative integer',
      },
    ],
  });
  const [quarantined, ...others] = queryQuarantine(l.runner.db);
  t.is(others.length, 0);
  t.is(quarantined!.recordIndex, 2);
  t.is((await quarantinedMessageText(l.log, quarantined!.sourceMessageId)).text, text);
  t.regex(quarantined!.recordExcerpt, /WallDuration: 1\.5/);

  const stillBad = await resubmitCorrected(
    l.log,
    quarantined!.sourceMessageId,
    2,
    quarantined!.recordExcerpt.replace('1.5', 'x'),
    { by: 'ops' },
  );
  t.like(stillBad, { accepted: 0, rejected: 1 });
  await l.runner.catchUp();
  t.is(queryQuarantine(l.runner.db).length, 1);

  const fixed = await resubmitCorrected(
    l.log,
    quarantined!.sourceMessageId,
    2,
    quarantined!.recordExcerpt.replace('1.5', '3600'),
    {
      by: 'ops',
      receivedAt: new Date('2026-01-13T00:00:00Z'),
    },
  );
  t.deepEqual(fixed, { accepted: 1, unchanged: 0, rejected: 0, errors: [] });
  await l.runner.catchUp();
  t.deepEqual(queryQuarantine(l.runner.db), []);
  t.is(queryQuarantine(l.runner.db, { includeResolved: true })[0]!.resolution, 'resubmitted');
  t.is(querySummaries(l.runner.db)[0]!.numberOfVms, 3);
  await l.close();
});

test('a message with a bad header is quarantined whole and can be re-submitted corrected', async (t) => {
  const l = await ledger();
  const text = message('v0.4', record({ StartTime: JAN10 })).replace('APEL-cloud-message', 'apel-cloud-message');
  t.like(await l.ingest(text, '2026-01-12T00:00:00Z'), { accepted: 0, rejected: 1 });
  const [q] = queryQuarantine(l.runner.db);
  t.is(q!.recordIndex, null);
  const fixed = await resubmitCorrected(
    l.log,
    q!.sourceMessageId,
    null,
    (await quarantinedMessageText(l.log, q!.sourceMessageId)).text.replace('apel-cloud-message', 'APEL-cloud-message'),
    { by: 'ops' },
  );
  t.like(fixed, { accepted: 1, rejected: 0 });
  await l.runner.catchUp();
  t.deepEqual(queryQuarantine(l.runner.db), []);
  await l.close();
});

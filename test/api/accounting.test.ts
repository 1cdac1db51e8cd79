import test from 'ava';
import { createHash } from 'node:crypto';
import { MESSAGE_A, startHarness, type Harness } from './harness.ts';

let h: Harness;
test.before(async () => {
  h = await startHarness();
});
test.after.always(async () => {
  await h?.close();
});

const SUMMARY = `query ($filter: AccountingFilter, $groupBy: [SummaryDimension!]!) {
  accountingSummary(filter: $filter, groupBy: $groupBy) {
    rows { key { site vo month } figures { vms wallHours cpuHours coreHours memoryMb } }
    total { vms wallHours coreHours memoryMb }
  }
}`;
type Summary = {
  accountingSummary: {
    rows: Array<{ key: Record<string, string | null>; figures: Record<string, number | string> }>;
    total: Record<string, number | string>;
  };
};

test('no token, a malformed token or a revoked token: 401', async (t) => {
  t.is((await h.gql(undefined, '{ me { role } }')).status, 401);
  t.is((await h.gql('flt_nope_nope', '{ me { role } }')).status, 401);
  const { token, info } = h.tokens.create('staff', null);
  t.is((await h.gql(token, '{ me { role } }')).data?.['me'] !== undefined, true);
  h.tokens.revoke(info.tokenId);
  const after = await h.gql(token, '{ me { role } }');
  t.is(after.status, 401);
  t.is(after.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
});

test('staff: summary by site with portal metrics (core hours = elapsed x cores), by hand', async (t) => {
  const r = await h.gql<Summary>(h.token('staff'), SUMMARY, { groupBy: ['site'] });
  const rows = r.data!.accountingSummary.rows;
  t.deepEqual(
    rows.map((x) => [
      x.key['site'],
      Number(x.figures['vms']),
      x.figures['wallHours'],
      x.figures['coreHours'],
      x.figures['cpuHours'],
    ]),
    [
      ['SITE-A', 3, 27, 58, 58],
      ['SITE-B', 1, 1, 1, 1],
    ],
  );
  const total = r.data!.accountingSummary.total;
  t.is(total['vms'], '4', '64-bit counts are strings');
  t.is(total['memoryMb'], '18432');
  t.is(total['coreHours'], 59);
});

test('staff: filters and group by VO and month', async (t) => {
  const r = await h.gql<Summary>(h.token('staff'), SUMMARY, {
    groupBy: ['vo', 'month'],
    filter: { from: '2026-02', to: '2026-02' },
  });
  t.deepEqual(
    r.data!.accountingSummary.rows.map((x) => [
      x.key['vo'],
      x.key['month'],
      Number(x.figures['vms']),
      x.figures['wallHours'],
    ]),
    [
      ['alpha', '2026-02', 2, 16],
      ['beta', '2026-02', 1, 2],
    ],
  );
  const bad = await h.gql(h.token('staff'), SUMMARY, { groupBy: ['site'], filter: { from: '2026-13' } });
  t.is(bad.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
});

test('site role: sees only its own site, totals included; another site is FORBIDDEN', async (t) => {
  const site = h.token('site', 'SITE-B');
  const byVo = await h.gql<Summary>(site, SUMMARY, { groupBy: ['vo'] });
  t.deepEqual(
    byVo.data!.accountingSummary.rows.map((x) => [x.key['vo'], Number(x.figures['vms'])]),
    [['alpha', 1]],
  );
  t.is(byVo.data!.accountingSummary.total['wallHours'], 1, 'the total adds up only SITE-B');
  const other = await h.gql(site, SUMMARY, { groupBy: ['site'], filter: { sites: ['SITE-A'] } });
  t.is(other.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  t.false(JSON.stringify(other).includes('SITE-A'), 'the error does not echo what was asked for');
  const mixed = await h.gql(site, SUMMARY, { groupBy: ['site'], filter: { sites: ['SITE-B', 'SITE-A'] } });
  t.is(mixed.errors?.[0]?.extensions?.code, 'FORBIDDEN');
});

test('community role: only its VO across sites; other VOs FORBIDDEN; no availability', async (t) => {
  const vo = h.token('community', 'beta');
  const bySite = await h.gql<Summary>(vo, SUMMARY, { groupBy: ['site'] });
  t.deepEqual(
    bySite.data!.accountingSummary.rows.map((x) => [x.key['site'], Number(x.figures['vms'])]),
    [['SITE-A', 1]],
  );
  t.is(bySite.data!.accountingSummary.total['coreHours'], 8);
  t.is(
    (await h.gql(vo, SUMMARY, { groupBy: ['vo'], filter: { vos: ['alpha'] } })).errors?.[0]?.extensions?.code,
    'FORBIDDEN',
  );
  t.is((await h.gql(vo, '{ latestStatus { sites { site } } }')).errors?.[0]?.extensions?.code, 'FORBIDDEN');
  t.is((await h.gql(vo, '{ quarantine { edges { cursor } } }')).errors?.[0]?.extensions?.code, 'FORBIDDEN');
});

test('dashboard role: no accounting at all', async (t) => {
  const r = await h.gql(h.token('dashboard'), SUMMARY, { groupBy: ['site'] });
  t.is(r.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  t.is(r.data as unknown, null);
});

test('drill-down: summary row -> VM-months -> the records and source message behind them', async (t) => {
  const r = await h.gql<{
    accountingSummary: {
      rows: Array<{
        key: { site: string; month: string };
        vmMonths: {
          edges: Array<{
            node: {
              vmUuid: string;
              monthly: { wallSeconds: string };
              records: Array<{ kept: boolean; sourceMessageId: string; recordIndex: number; record: string }>;
            };
          }>;
        };
      }>;
    };
  }>(
    h.token('staff'),
    `{ accountingSummary(groupBy: [site, month], filter: { sites: ["SITE-A"], from: "2026-02", to: "2026-02" }) {
        rows { key { site month } vmMonths { edges { node { vmUuid monthly { wallSeconds } records { kept sourceMessageId recordIndex record } } } } } } }`,
  );
  const row = r.data!.accountingSummary.rows[0]!;
  t.deepEqual(row.key, { site: 'SITE-A', month: '2026-02' });
  const nodes = row.vmMonths.edges.map((e) => e.node);
  t.deepEqual(
    nodes.map((n) => [n.vmUuid, n.monthly.wallSeconds]),
    [
      ['vm-1', '54000'],
      ['vm-2', '7200'],
    ],
  );
  const record = nodes[0]!.records[0]!;
  t.true(record.kept);
  t.is(record.sourceMessageId, createHash('sha256').update(MESSAGE_A).digest('hex'));
  t.is(record.recordIndex, 2);
  t.is(JSON.parse(record.record).wallDuration, 90000);
});

test('VM-months: cursor pagination visits every VM-month once; page size is bounded', async (t) => {
  const staff = h.token('staff');
  const seen: string[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < 10; pages++) {
    const r: {
      data?: {
        vmMonths: {
          edges: Array<{ node: { vmUuid: string; month: string } }>;
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
        };
      };
    } = await h.gql(
      staff,
      'query ($after: String) { vmMonths(first: 1, after: $after) { edges { node { vmUuid month } } pageInfo { hasNextPage endCursor } } }',
      { after },
    );
    seen.push(...r.data!.vmMonths.edges.map((e) => `${e.node.vmUuid}@${e.node.month}`));
    if (!r.data!.vmMonths.pageInfo.hasNextPage) break;
    after = r.data!.vmMonths.pageInfo.endCursor;
  }
  t.deepEqual(seen, ['vm-1@2026-01', 'vm-1@2026-02', 'vm-2@2026-02', 'vm-3@2026-02']);
  const tooBig = await h.gql(staff, '{ vmMonths(first: 501) { edges { cursor } } }');
  t.is(tooBig.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  const site = await h.gql<{ vmMonths: { edges: Array<{ node: { vmUuid: string } }> } }>(
    h.token('site', 'SITE-B'),
    '{ vmMonths { edges { node { vmUuid } } } }',
  );
  t.deepEqual(
    site.data!.vmMonths.edges.map((e) => e.node.vmUuid),
    ['vm-3'],
  );
});

test("a VM's history: its events for staff and its own site, FORBIDDEN to another site", async (t) => {
  const q = '{ vmHistory(vmUuid: "vm-1") { type position data } }';
  const staff = await h.gql<{ vmHistory: Array<{ type: string }> }>(h.token('staff'), q);
  t.deepEqual(
    staff.data!.vmHistory.map((e) => e.type),
    ['CloudUsageRecorded', 'CloudUsageRecorded'],
  );
  t.is((await h.gql<{ vmHistory: unknown[] }>(h.token('site', 'SITE-A'), q)).data!.vmHistory.length, 2);
  t.is((await h.gql(h.token('site', 'SITE-B'), q)).errors?.[0]?.extensions?.code, 'FORBIDDEN');
  t.is(
    (await h.gql(h.token('site', 'SITE-B'), '{ vmHistory(vmUuid: "no-such-vm") { type } }')).errors?.[0]?.extensions
      ?.code,
    'FORBIDDEN',
    'no hint that a VM does not exist',
  );
});

test('quarantine: a site sees its rejected record with its error, and re-submits a correction', async (t) => {
  const site = h.token('site', 'SITE-A');
  const q = await h.gql<{
    quarantine: {
      edges: Array<{
        node: { sourceMessageId: string; recordIndex: number; errors: Array<{ field: string; line: number }> };
      }>;
    };
  }>(site, '{ quarantine { edges { node { sourceMessageId recordIndex errors { field line reason } } } } }');
  t.is(q.data!.quarantine.edges.length, 1);
  const entry = q.data!.quarantine.edges[0]!.node;
  t.is(entry.recordIndex, 4);
  t.is(entry.errors[0]!.field, 'WallDuration');
  t.deepEqual(
    (
      await h.gql<{ quarantine: { edges: unknown[] } }>(
        h.token('staff'),
        '{ quarantine(site: "SITE-B") { edges { cursor } } }',
      )
    ).data!.quarantine.edges,
    [],
  );
  t.is(
    (await h.gql(h.token('site', 'SITE-B'), '{ quarantine(site: "SITE-A") { edges { cursor } } }')).errors?.[0]
      ?.extensions?.code,
    'FORBIDDEN',
  );
  const resubmit =
    'mutation ($id: String!, $i: Int, $text: String!) { resubmitRecord(sourceMessageId: $id, recordIndex: $i, correctedText: $text) { accepted rejected errors { reason } } }';
  const vars = { id: entry.sourceMessageId, i: 4, text: 'VMUUID: vm-bad\nSiteName: SITE-A\nWallDuration: 2\n' };
  t.is((await h.gql(h.token('site', 'SITE-B'), resubmit, vars)).errors?.[0]?.extensions?.code, 'FORBIDDEN');
  const wrongSite = await h.gql(site, resubmit, {
    ...vars,
    text: 'VMUUID: vm-bad\nSiteName: SITE-B\nWallDuration: 2\n',
  });
  t.is(wrongSite.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  t.regex(wrongSite.errors![0]!.message, /record 4/);
  const ok = await h.gql<{ resubmitRecord: { accepted: number; rejected: number } }>(site, resubmit, vars);
  t.deepEqual(ok.data!.resubmitRecord, { accepted: 1, rejected: 0, errors: [] });
});

test('quality warnings are scoped like the quarantine', async (t) => {
  t.is(
    (await h.gql(h.token('community', 'alpha'), '{ qualityWarnings { kind } }')).errors?.[0]?.extensions?.code,
    'FORBIDDEN',
  );
  t.truthy((await h.gql(h.token('site', 'SITE-A'), '{ qualityWarnings { kind } }')).data);
});

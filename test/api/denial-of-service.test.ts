/**
 * The denial-of-service cases of issue 26 against a real server on 127.0.0.1: each ends promptly with its
 * documented error while `/healthz` and `/readyz` keep answering.
 */
import test from 'ava';
import type { ServeConfig } from '../../src/api/config.ts';
import { appendByStream } from '../../src/eventlog/append-by-stream.ts';
import { snapshotEvent } from '../../src/collectors/emit.ts';
import { type Harness, startHarness } from './harness.ts';

type Answer = Awaited<ReturnType<Harness['gql']>>;

/** Runs `request` while polling /healthz and /readyz; resolves to its answer, its duration and the slowest check. */
async function withHealthChecks<T>(h: Harness, request: () => Promise<T>) {
  let done = false;
  let slowest = 0;
  let checks = 0;
  const poll = (async () => {
    while (!done) {
      const started = performance.now();
      const r = await fetch(`${h.url}/${checks % 2 === 0 ? 'healthz' : 'readyz'}`);
      if (r.status !== 200) throw new Error(`${r.url} answered ${r.status}`);
      await r.text();
      slowest = Math.max(slowest, performance.now() - started);
      checks++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const started = performance.now();
  try {
    const answer = await request();
    return { answer, ms: performance.now() - started, slowestHealthMs: slowest, checks };
  } finally {
    done = true;
    await poll;
  }
}

const ext = (a: Answer) => a.errors?.[0]?.extensions as Record<string, unknown> | undefined;

const aliases = (n: number, field: string) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ')} }`;

async function harness(t: { teardown(fn: () => Promise<void>): void }, config: Partial<ServeConfig> = {}) {
  const h = await startHarness({ config });
  t.teardown(() => h.close());
  return h;
}

test.serial(
  "a dashboard's or a site's daily A/R from year 1 to 9999 is refused before it runs, naming the argument",
  async (t) => {
    const h = await harness(t);
    const query =
      '{ availability(from: "0001-01-01", to: "9999-12-31", granularity: daily, levels: [site]) { period site } }';
    for (const token of [h.token('dashboard'), h.token('site', 'SITE-A')]) {
      const { answer, ms, slowestHealthMs } = await withHealthChecks(h, () => h.gql(token, query));
      t.deepEqual(ext(answer), { code: 'LIMIT_EXCEEDED', argument: 'to', limit: 366, setting: 'maxDailySpanDays' });
      t.true(ms < 2000, `answered in ${ms.toFixed(0)} ms`);
      t.true(slowestHealthMs < 1000);
    }
    const monthly = await h.gql(
      h.token('dashboard'),
      '{ availability(from: "0001-01-01", to: "9999-12-31", granularity: monthly) { period } }',
    );
    t.is(ext(monthly)?.['setting'], 'maxSpanDays');
  },
);

test.serial(
  'an answer over maxRows is refused with the limit, before A/R days are read and for summaries',
  async (t) => {
    const h = await harness(t, { maxRows: 3 });
    const dash = h.token('dashboard');
    // Two sites x ten days: 20 rows.
    const daily = await h.gql(
      dash,
      '{ availability(from: "2026-02-20", to: "2026-03-01", granularity: daily, levels: [site]) { period } }',
    );
    t.is(ext(daily)?.['code'], 'LIMIT_EXCEEDED');
    t.is(ext(daily)?.['setting'], 'maxRows');
    t.is(ext(daily)?.['limit'], 3);
    t.regex(daily.errors![0]!.message, /more than 3 rows/);
    const monthly = await h.gql(
      dash,
      '{ availability(from: "2026-02-20", to: "2026-03-01", granularity: monthly, levels: [site]) { period } }',
    );
    t.is(ext(monthly)?.['setting'], 'maxRows', 'two sites x two months: 4 rows');
    const range = await h.gql<{ availability: unknown[] }>(
      dash,
      '{ availability(from: "2026-02-20", to: "2026-03-01", granularity: range, levels: [site]) { period } }',
    );
    t.is(range.data?.availability.length, 2, 'one range of two sites: 2 rows');
    const everything = await h.gql(
      h.token('staff'),
      '{ accountingSummary(groupBy: [site, vo, user, month, status, image, cloudType, service]) { rows { key { site } } } }',
    );
    t.is(ext(everything)?.['setting'], 'maxRows');
    t.regex(everything.errors![0]!.message, /accountingSummary/);
  },
);

test.serial('hundreds or thousands of aliases of an accounting summary are refused before validation', async (t) => {
  const h = await harness(t);
  const staff = h.token('staff');
  const eight =
    'accountingSummary(groupBy: [site, vo, user, month, status, image, cloudType, service]) { total { vms } }';
  for (const query of [aliases(200, eight), aliases(2500, 'accountingSummary(groupBy: []) { total { vms } }')]) {
    const { answer, ms, slowestHealthMs } = await withHealthChecks(h, () => h.gql(staff, query));
    t.regex(answer.errors?.[0]?.message ?? '', /(Aliases|Token) limit of \d+ exceeded/);
    t.falsy(answer.data);
    t.true(ms < 3000, `answered in ${ms.toFixed(0)} ms`);
    t.true(slowestHealthMs < 1000);
  }
  const short = await h.gql(staff, aliases(21, 'me { role }'));
  t.regex(short.errors?.[0]?.message ?? '', /Aliases limit of 20 exceeded, found 21/);
  t.is((await h.gql(staff, aliases(20, 'me { role }'))).status, 200);
});

test.serial(
  'a filter of 100,000 sites is a user error naming the argument and the limit, not an internal error',
  async (t) => {
    const h = await harness(t);
    const sites = Array.from({ length: 100_000 }, (_, i) => i.toString(36));
    const summary = await h.gql(
      h.token('staff'),
      'query ($sites: [String!]) { accountingSummary(filter: { sites: $sites }, groupBy: [site]) { total { vms } } }',
      { sites },
    );
    t.deepEqual(ext(summary), {
      code: 'LIMIT_EXCEEDED',
      argument: 'filter.sites',
      limit: 1000,
      setting: 'maxFilterValues',
    });
    const months = await h.gql(
      h.token('staff'),
      'query ($vos: [String!]) { vmMonths(filter: { vos: $vos }) { edges { cursor } } }',
      { vos: sites },
    );
    t.is(ext(months)?.['argument'], 'filter.vos');
  },
);

test.serial('sites { glue2 } is built once per collector change, not read from the log per site', async (t) => {
  const h = await harness(t);
  const staff = h.token('staff');
  const snapshot = (takenAt: string, flavor: string) =>
    snapshotEvent({
      source: 'site-a-openstack',
      siteName: 'SITE-A',
      takenAt,
      middleware: 'openstack',
      endpoints: [],
      images: [],
      flavors: [
        { id: 'f', name: flavor, vcpus: 1, ramMb: 1, diskGb: 1, isPublic: true, benchmarkType: null, benchmark: null },
      ],
      shares: [],
    });
  await appendByStream(h.log, [snapshot('2026-03-01T10:00:00Z', 'small')]);
  let reads = 0;
  const readAll = h.log.readAll.bind(h.log);
  h.log.readAll = (options) => {
    reads++;
    return readAll(options);
  };
  const flavors = async () => {
    const answer = await h.gql<Record<string, Array<{ name: string; glue2: string | null }>>>(
      staff,
      aliases(10, 'sites { name glue2 }'),
    );
    t.falsy(answer.errors);
    return Object.values(answer.data!).map((list) =>
      list.map((s) => (s.glue2 ? (JSON.parse(s.glue2) as Record<string, Array<{ Name: string }>>) : null)),
    );
  };
  const first = await flavors();
  t.is(first[9]![0]!['CloudComputingInstanceType']![0]!.Name, 'small');
  t.is(first[9]![1], null);
  const afterFirst = reads;
  t.true(afterFirst <= 2, `${afterFirst} log reads for 10 x 2 sites`);
  await flavors();
  t.is(reads, afterFirst, 'nothing new in the log: no read');
  await appendByStream(h.log, [snapshot('2026-03-02T10:00:00Z', 'large')]);
  t.is((await flavors())[0]![0]!['CloudComputingInstanceType']![0]!.Name, 'large', 'a new snapshot is seen');
});

test.serial('rate limits: past its burst a token gets 429 with Retry-After; other tokens are unaffected', async (t) => {
  const h = await harness(t, { rateLimitPerSecond: 0.1, rateLimitBurst: 3 });
  const dash = h.token('dashboard');
  for (let i = 0; i < 3; i++) t.is((await h.gql(dash, '{ me { role } }')).status, 200);
  const limited = await h.gql(dash, '{ me { role } }');
  t.is(limited.status, 429);
  t.is(limited.headers.get('retry-after'), '10');
  t.is(ext(limited)?.['code'], 'RATE_LIMITED');
  t.is((await h.gql(h.token('dashboard'), '{ me { role } }')).status, 200);
  const push = await fetch(`${h.url}/v1/probes`, { method: 'POST', headers: { authorization: `Bearer ${dash}` } });
  t.is(push.status, 429, 'the push endpoints share the bucket');
});

// Limits raised so the query runs: what is tested is that the timeout ends it, whatever got past the limits.
const HEAVY = {
  requestTimeoutMs: 300,
  maxTokens: 100_000,
  maxAliases: 5000,
  maxCost: 10_000_000,
  maxRequestDays: 10_000_000,
  maxRows: 10_000_000,
};
// Each alias is a year of days at every level (tens of ms); together they run far past the timeout.
const heavyQuery = aliases(
  100,
  'availability(from: "2025-03-02", to: "2026-03-01", granularity: monthly) { period availability }',
);

test.serial('a heavy query that times out answers 503 TIMEOUT at its timeout, then stops consuming CPU', async (t) => {
  const h = await harness(t, HEAVY);
  const { answer, ms, slowestHealthMs, checks } = await withHealthChecks(h, () =>
    h.gql(h.token('dashboard'), heavyQuery),
  );
  t.is(answer.status, 503);
  t.is(ext(answer)?.['code'], 'TIMEOUT');
  t.true(ms < 1500, `answered in ${ms.toFixed(0)} ms`);
  t.true(checks >= 1 && slowestHealthMs < 500, `${checks} health checks, slowest ${slowestHealthMs.toFixed(0)} ms`);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const before = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, 500));
  const used = process.cpuUsage(before);
  const ms2 = (used.user + used.system) / 1000;
  t.true(ms2 < 150, `${ms2.toFixed(0)} ms of CPU in the 500 ms after the timeout`);
  t.is(h.server.services.work.pending, 0);
});

test.serial(
  'past maxConcurrentQueries a query gets 503 OVERLOADED with Retry-After, and health checks still answer',
  async (t) => {
    const h = await harness(t, { ...HEAVY, requestTimeoutMs: 1000, maxConcurrentQueries: 1 });
    const dash = h.token('dashboard');
    const heavy = h.gql(dash, heavyQuery);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { answer, ms } = await withHealthChecks(h, () => h.gql(dash, '{ me { role } }'));
    t.is(answer.status, 503);
    t.is(ext(answer)?.['code'], 'OVERLOADED');
    t.is(answer.headers.get('retry-after'), '1');
    t.true(ms < 1000, `refused in ${ms.toFixed(0)} ms`);
    t.is((await heavy).status, 503);
  },
);

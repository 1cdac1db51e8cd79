import test from 'ava';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadServeConfig } from '../../src/api/config.ts';
import { ingestProbeResults } from '../../src/ingest/availability-service.ts';
import { NOW, probeLines, startHarness, type Harness } from './harness.ts';
import { tempDir } from '../support/tmp.ts';

let h: Harness;
test.before(async () => {
  h = await startHarness({ config: { maxDepth: 6, maxCost: 5000 } });
});
test.after.always(async () => {
  await h?.close();
});

const AR = `query ($site: String, $levels: [ArLevel!], $group: String) {
  availability(from: "2026-03-01", to: "2026-03-01", granularity: daily, levels: $levels, site: $site, group: $group) { level site group availability reliability seconds { up total } }
}`;
type Ar = {
  availability: Array<{
    level: string;
    site: string | null;
    group: string | null;
    availability: number;
    seconds: { up: string } | null;
  }>;
};

test('availability: daily A/R per site, by hand (SITE-B critical from noon)', async (t) => {
  const r = await h.gql<Ar>(h.token('dashboard'), AR, { levels: ['site', 'group'] });
  const rows = r.data!.availability.map((x) => [x.level, x.site ?? x.group, x.availability]);
  t.deepEqual(rows, [
    ['site', 'SITE-A', 100],
    ['site', 'SITE-B', 50],
    ['group', 'NGI_X', 75],
  ]);
  t.is(r.data!.availability.find((x) => x.site === 'SITE-B')!.seconds!.up, '43200');
});

test('availability(levels: [function]): one row per function group of each site, with its NGI', async (t) => {
  const r = await h.gql<{
    availability: Array<{ level: string; site: string; function: string; group: string; availability: number }>;
  }>(
    h.token('dashboard'),
    '{ availability(from: "2026-03-01", to: "2026-03-01", granularity: daily, levels: [function]) { level site function group availability } }',
  );
  t.deepEqual(
    r.data!.availability.map((x) => [x.level, x.site, x.function, x.group, x.availability]),
    [
      ['function', 'SITE-A', 'cloud', 'NGI_X', 100],
      ['function', 'SITE-B', 'cloud', 'NGI_X', 50],
    ],
  );
  const tl = await h.gql<{
    statusTimelines: Array<{ site: string; name: string; statuses: Array<{ status: string }> }>;
  }>(
    h.token('dashboard'),
    '{ statusTimelines(from: "2026-03-01", to: "2026-03-01", level: functionGroup, site: "SITE-B") { site name statuses { status } } }',
  );
  t.deepEqual(
    tl.data!.statusTimelines.map((x) => [x.site, x.name, x.statuses.map((p) => p.status)]),
    [['SITE-B', 'cloud', ['OK', 'CRITICAL', 'CRITICAL']]],
  );
});

test('availability: a site token sees its own site, never another site or a group of sites', async (t) => {
  const site = h.token('site', 'SITE-A');
  const own = await h.gql<Ar>(site, AR, {});
  t.true(own.data!.availability.length > 0);
  t.true(own.data!.availability.every((x) => x.site === 'SITE-A' && x.level !== 'group'));
  t.is((await h.gql(site, AR, { site: 'SITE-B' })).errors?.[0]?.extensions?.code, 'FORBIDDEN');
  t.is((await h.gql(site, AR, { group: 'NGI_X' })).errors?.[0]?.extensions?.code, 'FORBIDDEN');
  const latest = await h.gql<{ latestStatus: { sites: Array<{ site: string }>; endpoints: Array<{ site: string }> } }>(
    site,
    '{ latestStatus { sites { site status } endpoints { site hostname status } } }',
  );
  t.deepEqual(
    [...latest.data!.latestStatus.sites, ...latest.data!.latestStatus.endpoints].map((x) => x.site),
    ['SITE-A', 'SITE-A'],
  );
});

test('status timelines, monthly A/R, topology and downtimes for the dashboard', async (t) => {
  const dash = h.token('dashboard');
  const tl = await h.gql<{
    statusTimelines: Array<{ site: string; statuses: Array<{ timestamp: string; status: string }> }>;
  }>(
    dash,
    '{ statusTimelines(from: "2026-03-01", to: "2026-03-01", level: site, site: "SITE-B") { site statuses { timestamp status } } }',
  );
  t.deepEqual(
    tl.data!.statusTimelines[0]!.statuses.map((s) => [s.timestamp, s.status]),
    [
      ['2026-03-01T00:00:00Z', 'OK'],
      ['2026-03-01T12:00:00Z', 'CRITICAL'],
      ['2026-03-01T23:59:59Z', 'CRITICAL'],
    ],
  );
  const monthly = await h.gql<Ar>(
    dash,
    '{ availability(from: "2026-03-01", to: "2026-03-01", granularity: monthly, levels: [site], site: "SITE-A") { level site availability } }',
  );
  t.is(monthly.data!.availability[0]!.availability, 100);
  const topo = await h.gql<{ sites: Array<{ name: string; ngi: string; endpoints: Array<{ hostname: string }> }> }>(
    dash,
    '{ sites { name ngi endpoints { hostname service counted } } }',
  );
  t.deepEqual(
    topo.data!.sites.map((s) => [s.name, s.ngi, s.endpoints.map((e) => e.hostname)]),
    [
      ['SITE-A', 'NGI_X', ['host-a.example.org']],
      ['SITE-B', 'NGI_X', ['host-b.example.org']],
    ],
  );
  t.deepEqual((await h.gql<{ downtimes: unknown[] }>(dash, '{ downtimes { id } }')).data!.downtimes, []);
  t.is((await h.gql(dash, '{ reportRuns { period } }')).errors?.[0]?.extensions?.code, 'FORBIDDEN');
  t.deepEqual(
    (await h.gql<{ reportRuns: unknown[] }>(h.token('staff'), '{ reportRuns { period } }')).data!.reportRuns,
    [],
  );
});

test('ingest tokens cannot read; depth and cost limits reject oversized queries', async (t) => {
  t.is((await h.gql(h.token('ingest', 'SITE-A'), '{ me { role } }')).status, 403);
  const deep = await h.gql(
    h.token('staff'),
    '{ accountingSummary(groupBy: [site]) { rows { vmMonths { edges { node { records { eventId } } } } } } }',
  );
  t.regex(deep.errors?.[0]?.message ?? '', /depth/i);
  const costly = await h.gql(
    h.token('staff'),
    '{ vmMonths(first: 500) { edges { node { vmUuid month site vo user status image cpuCount memoryMb diskGb cumulative { wallSeconds cpuSeconds } } } } }',
  );
  t.regex(costly.errors?.[0]?.message ?? '', /cost/i);
});

test('GET queries carry cache headers; a matching ETag answers 304 until the read model moves', async (t) => {
  const token = h.token('dashboard');
  const first = await h.gql(token, '{ latestStatus { sites { site status } } }', {}, 'GET');
  const etag = first.headers.get('etag');
  t.truthy(etag);
  t.regex(first.headers.get('cache-control') ?? '', /private, max-age=\d+/);
  const url = `${h.url}/graphql?${new URLSearchParams({ query: '{ latestStatus { sites { site status } } }', variables: '{}' })}`;
  const revalidated = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, 'if-none-match': etag!, accept: 'application/json' },
  });
  t.is(revalidated.status, 304);
  const otherScope = await fetch(url, {
    headers: {
      authorization: `Bearer ${h.token('site', 'SITE-A')}`,
      'if-none-match': etag!,
      accept: 'application/json',
    },
  });
  t.is(otherScope.status, 200, 'an ETag never crosses scopes');
  const body = (await otherScope.json()) as { data: { latestStatus: { sites: Array<{ site: string }> } } };
  t.deepEqual(
    body.data.latestStatus.sites.map((s) => s.site),
    ['SITE-A'],
  );
});

test('a cached answer about past days outlives the cache window; one about today does not', async (t) => {
  const clocked = await startHarness();
  t.teardown(() => clocked.close());
  const token = clocked.token('dashboard');
  const past =
    '{ availability(from: "2026-03-01", to: "2026-03-01", granularity: daily, levels: [site]) { site availability } }';
  const today =
    '{ availability(from: "2026-03-02", to: "2026-03-02", granularity: daily, levels: [site]) { site availability } }';
  const etags = async () =>
    Promise.all([past, today].map(async (q) => (await clocked.gql(token, q, {}, 'GET')).headers.get('etag')));
  const before = await etags();
  clocked.setNow(new Date(NOW.getTime() + 3600_000));
  const after = await etags();
  t.is(after[0], before[0], 'past days do not move with the clock');
  t.not(after[1], before[1], "today's running A/R is recomputed after the window");
  await ingestProbeResults(clocked.log, probeLines('2026-03-01', 'host-a.example.org'), { publisher: 'test' });
  await clocked.runners.get('availability')!.catchUp();
  t.not((await etags())[0], after[0], 'a projection commit invalidates every answer');
});

test('health, metrics, and POST /v1/apel/cloud with a site ingest token (403 naming the record for another site)', async (t) => {
  t.is((await fetch(`${h.url}/healthz`)).status, 200);
  const token = h.token('ingest', 'SITE-B');
  const post = (text: string, tok = token) =>
    fetch(`${h.url}/v1/apel/cloud`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tok}`, 'content-type': 'text/plain' },
      body: text,
    });
  const ok = await post(
    'APEL-cloud-message: v0.4\nVMUUID: vm-9\nSiteName: SITE-B\nStatus: started\nStartTime: 1767225600\nWallDuration: 60\n%%\n',
  );
  t.is(ok.status, 200);
  t.like(await ok.json(), { accepted: 1, rejected: 0 });
  const mismatch = await post(
    'APEL-cloud-message: v0.4\nVMUUID: vm-10\nSiteName: SITE-B\n%%\nVMUUID: vm-11\nSiteName: SITE-A\n%%\n',
  );
  t.is(mismatch.status, 403);
  const error = (
    (await mismatch.json()) as {
      errors: Array<{ message: string; extensions: { code: string; location: { record: number } } }>;
    }
  ).errors[0]!;
  t.is(error.extensions.code, 'SITE_MISMATCH');
  t.is(error.extensions.location.record, 2);
  t.is((await post('APEL-cloud-message: v0.4\n', h.token('dashboard'))).status, 403);
  t.is((await fetch(`${h.url}/v1/apel/cloud`, { method: 'POST', body: 'x' })).status, 401);
  const metrics = await (await fetch(`${h.url}/metrics`)).text();
  t.regex(metrics, /fedledger_ingested_records_total\{kind="apel",outcome="accepted"\} 1/);
  t.regex(metrics, /fedledger_projection_lag_positions\{projection="accounting"\} \d+/);
  t.regex(metrics, /fedledger_http_request_duration_seconds_count\{route="\/graphql"/);
});

/** Reads SSE `next` events from a response until `count` arrived. */
async function sseEvents(response: Response, count: number): Promise<unknown[]> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: unknown[] = [];
  let buffer = '';
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (/^event: next$/m.test(block)) events.push(JSON.parse(/^data: (.*)$/m.exec(block)![1]!));
    }
  }
  await reader.cancel();
  return events;
}

test('SSE: a probe result pushed over HTTP reaches a subscriber after the projection commits; scoped to the site', async (t) => {
  const live = await startHarness({ live: true });
  t.teardown(() => live.close());
  const subscribe = (token: string) =>
    fetch(`${live.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'subscription { availabilityChanged { position sites latest { sites { site status } } } }',
      }),
    });
  const siteA = await subscribe(live.token('site', 'SITE-A'));
  const staff = await subscribe(live.token('staff'));
  t.is(staff.status, 200);
  t.regex(staff.headers.get('content-type') ?? '', /text\/event-stream/);
  const received = sseEvents(staff, 1);
  const siteAReceived = sseEvents(siteA, 1);
  const pushed = await fetch(`${live.url}/v1/probes`, {
    method: 'POST',
    headers: { authorization: `Bearer ${live.token('ingest', null, true)}` },
    body: probeLines('2026-03-02', 'host-b.example.org'),
  });
  t.is(pushed.status, 200);
  const [event] = (await received) as Array<{
    data: { availabilityChanged: { sites: string[]; latest: { sites: Array<{ site: string; status: string }> } } };
  }>;
  t.true(event!.data.availabilityChanged.sites.includes('SITE-B'));
  t.deepEqual(event!.data.availabilityChanged.latest.sites.find((s) => s.site === 'SITE-B')?.status, 'CRITICAL');
  const [forA] = (await siteAReceived) as Array<{
    data: { availabilityChanged: { sites: string[]; latest: { sites: Array<{ site: string }> } } };
  }>;
  t.deepEqual(forA!.data.availabilityChanged.sites, ['SITE-A'], 'a site only hears about itself');
  t.deepEqual(
    forA!.data.availabilityChanged.latest.sites.map((s) => s.site),
    ['SITE-A'],
  );
});

test('readiness: 503 while a projection lags the log beyond the configured lag, 200 once caught up', async (t) => {
  const lagging = await startHarness({ config: { readyMaxLag: 0 } });
  t.teardown(() => lagging.close());
  t.is((await fetch(`${lagging.url}/readyz`)).status, 200);
  await ingestProbeResults(lagging.log, probeLines('2026-03-02'), { publisher: 'test' });
  const behind = await fetch(`${lagging.url}/readyz`);
  t.is(behind.status, 503);
  const body = (await behind.json()) as { projections: Array<{ name: string; lag: string }> };
  t.true(Number(body.projections.find((p) => p.name === 'availability')!.lag) > 0);
  await lagging.runners.get('availability')!.catchUp();
  t.is((await fetch(`${lagging.url}/readyz`)).status, 200);
});

test('configuration: file, environment and flags, validated with errors naming the source and field', (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const file = path.join(dir, 'serve.yaml');
  writeFileSync(file, 'maxPageSize: 100\nport: 5000\n');
  const c = loadServeConfig({ config: file }, { PORT: '6000' });
  t.is(c.port, 6000, 'environment beats the file');
  t.is(c.maxPageSize, 100);
  t.is(loadServeConfig({ port: '7000' }, { PORT: '6000' }).port, 7000, 'flags beat the environment');
  t.throws(() => loadServeConfig({}, { PORT: 'eighty' }), { message: /environment variable PORT\): port/ });
  writeFileSync(file, 'maxPageSize: 10\ndefaultPageSize: 50\n');
  t.throws(() => loadServeConfig({ config: file }, {}), { message: /defaultPageSize: must not exceed maxPageSize/ });
  writeFileSync(file, 'prot: 1\n');
  t.throws(() => loadServeConfig({ config: file }, {}), { message: /unknown setting prot/ });
});

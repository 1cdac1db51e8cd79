/**
 * API benchmark: 50 concurrent clients polling site availability and
 * monthly usage summaries from `fedledger serve` (a child process, so the
 * clients do not share its event loop) over a store holding at least 1M
 * usage records (synthetic, seeded, on the demo federation's sites) and the
 * demo federation's six months of probe results. Two runs: GET polling
 * (what dashboards do: answered from the ETag-keyed response cache until a
 * projection commits) and POST (every request executed). Baseline: the same
 * monthly summary as one raw better-sqlite3 query, in this process.
 * Run: npm run bench:api [-- --records 1000000 --seconds 10 --clients 50 --method GET|POST --quiet]
 */
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DateTime } from 'luxon';
import { TokenStore } from '../../src/api/tokens.ts';
import { DEMO_FIRST_MONTH, DEMO_MONTHS, DEMO_SITES, DEMO_VOS, prng } from '../../src/demo/federation.ts';
import { DEMO_DIR } from '../../src/demo/load.ts';
import { SqliteEventLog } from '../../src/eventlog/sqlite.ts';
import { streams } from '../../src/events/catalogue.ts';
import { type EncodedEvent, usageEncoder } from '../../src/events/codec.ts';
import { EMPTY_RECORD } from '../../src/ingest/apel-message.ts';
import { ingestGocdb, ingestProbeResults } from '../../src/ingest/availability-service.ts';
import { projectionsDir, upToDate } from '../../src/projection/registry.ts';
import { readModelPath } from '../../src/projection/runner.ts';
import { readFileSync } from 'node:fs';
import { measure, numberArg, rate, report } from './harness.ts';
import { startServer } from './serve-child.ts';

const RECORDS = numberArg('records', 1_000_000);
const SECONDS = numberArg('seconds', 10);
const CLIENTS = numberArg('clients', 50);
const STEP = 6 * 3600;
/** Request logs at info, as in production; `--quiet` measures without them. */
const LOG_LEVEL = process.argv.includes('--quiet') ? 'warn' : 'info';
/** `--method GET` or `--method POST` runs one of the two loads. */
const METHODS = (['GET', 'POST'] as const).filter((m) => {
  const i = process.argv.indexOf('--method');
  return i < 0 || process.argv[i + 1]?.toUpperCase() === m;
});

async function populate(dataDir: string): Promise<number> {
  const log = new SqliteEventLog(path.join(dataDir, 'events.sqlite'));
  for (const f of ['get_site_list.xml', 'get_service_endpoint.xml', 'get_downtime.xml'])
    await ingestGocdb(log, readFileSync(path.join(DEMO_DIR, 'gocdb', f), 'utf8'), { publisher: 'bench' });
  await ingestProbeResults(log, readFileSync(path.join(DEMO_DIR, 'probes', 'results.jsonl'), 'utf8'), {
    publisher: 'bench',
  });
  const rand = prng(42);
  const first = DEMO_FIRST_MONTH.toSeconds();
  const last = DEMO_FIRST_MONTH.plus({ months: DEMO_MONTHS }).toSeconds();
  let written = 0;
  let pending: Array<Promise<unknown>> = [];
  for (let vm = 0; written < RECORDS; vm++) {
    const site = DEMO_SITES[vm % DEMO_SITES.length]!;
    const vo = DEMO_VOS[Math.floor(rand() * DEMO_VOS.length)]!;
    const cores = [1, 2, 4, 8][Math.floor(rand() * 4)]!;
    const start = Math.floor(first + rand() * (last - first - STEP));
    const end = Math.min(last, start + Math.floor((1 + rand() * 119) * 86_400));
    const uuid = `bench-${vm.toString(16).padStart(8, '0')}`;
    const events: EncodedEvent[] = [];
    for (let t = start + STEP; t <= end && written < RECORDS; t += STEP, written++) {
      const wall = t - start;
      const record = {
        ...EMPTY_RECORD,
        vmUuid: uuid,
        siteName: site.name,
        globalUserName: `user${vm % 200}@${vo}`,
        fqan: vo,
        vo,
        status: 'started',
        startTime: start,
        wallDuration: wall,
        cpuDuration: wall * cores,
        cpuCount: cores,
        memory: cores * 2048,
        disk: cores * 20,
        networkInbound: Math.floor(wall / 86_400),
        networkOutbound: 0,
        imageId: `img-${vm % 7}`,
        cloudType: site.middleware === 'openstack' ? 'OpenStack' : 'OpenNebula',
        recordCreateTime: t,
      };
      const encodeUsage = usageEncoder({
        receivedAt: new Date(t * 1000).toISOString(),
        publisher: 'bench',
        sourceMessageId: `m-${site.name}-${t}`,
        messageVersion: 'v0.4',
      });
      events.push(encodeUsage(record, 1));
    }
    pending.push(log.append(streams.vm(site.name, uuid), events));
    if (pending.length >= 200) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  const runners = await upToDate(log, dataDir);
  for (const r of runners.values()) await r.close();
  await log.close();
  return written;
}

interface Run {
  requests: number;
  errors: number;
  p50: number;
  p99: number;
}

async function load(
  url: string,
  tokens: { site: string[]; dashboard: string; staff: string },
  method: 'GET' | 'POST',
): Promise<Run> {
  const months = Array.from({ length: DEMO_MONTHS }, (_, i) => DEMO_FIRST_MONTH.plus({ months: i }));
  const queries = (client: number) => {
    const site = DEMO_SITES[client % DEMO_SITES.length]!.name;
    const own = client % 2 === 0;
    const token = own ? tokens.site[client % DEMO_SITES.length]! : client % 4 === 1 ? tokens.dashboard : tokens.staff;
    return months.flatMap((m: DateTime) => {
      const month = m.toFormat('yyyy-MM');
      const ar = {
        token,
        query:
          'query ($from: String!, $to: String!, $site: String) { availability(from: $from, to: $to, granularity: monthly, levels: [site, service], site: $site) { level site service availability reliability } }',
        variables: { from: m.toISODate(), to: m.endOf('month').toISODate(), site },
      };
      const usage = {
        token: own ? token : tokens.staff,
        query:
          'query ($m: String!) { accountingSummary(groupBy: [site, vo], filter: { from: $m, to: $m }) { rows { key { site vo } figures { vms wallHours cpuHours coreHours } } total { vms coreHours } } }',
        variables: { m: month },
      };
      return [ar, usage];
    });
  };
  // Every poll of the 50 dashboards: each client's own site, role and months.
  const polls = Array.from({ length: CLIENTS }, (_, client) => queries(client))
    .flat()
    .map((q) => {
      const headers = { authorization: `Bearer ${q.token}`, accept: 'application/json' };
      return method === 'GET'
        ? {
            method,
            path: `/graphql?${new URLSearchParams({ query: q.query, variables: JSON.stringify(q.variables) })}`,
            headers,
          }
        : {
            method,
            path: '/graphql',
            headers: { ...headers, 'content-type': 'application/json' },
            body: JSON.stringify({ query: q.query, variables: q.variables }),
          };
    });
  // Each must be answered without errors: checked once, which for GET also fills the response cache as
  // the first minute of a dashboard's life does (pollers run for hours).
  let errors = 0;
  for (const poll of polls) {
    const response = await fetch(url + poll.path, { method: poll.method, headers: poll.headers, body: poll.body });
    if (response.status !== 200 || (await response.text()).includes('"errors"')) errors++;
  }
  // autocannon rather than fetch as the load generator: on a 2-core machine the clients' own CPU time is taken
  // from the server, and undici's fetch costs several times more per request than autocannon's raw sockets.
  let next = 0;
  const result = await autocannon({
    url,
    connections: CLIENTS,
    duration: SECONDS,
    requests: [{ setupRequest: (request) => ({ ...request, ...polls[next++ % polls.length]! }) }],
  });
  return {
    requests: result.requests.total,
    errors: errors + result.errors + result.timeouts + result.non2xx,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

const populateInto = process.argv.indexOf('--populate-into');
if (populateInto > 0) {
  // The store is built in its own process, so the load clients below do not run on its large, garbage-filled heap.
  const written = await populate(process.argv[populateInto + 1]!);
  process.stdout.write(String(written));
  process.exit(0);
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-bench-api-'));
try {
  const started = Date.now();
  const built = spawnSync(
    process.execPath,
    ['--import=tsx', fileURLToPath(import.meta.url), '--records', String(RECORDS), '--populate-into', dataDir],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (built.status !== 0) throw new Error(`building the store failed (${built.status})`);
  const records = Number(built.stdout.trim().split('\n').pop());
  console.log(
    `store: ${records.toLocaleString('en-US')} usage records + demo probe results and topology, ingested and projected in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  const store = new TokenStore(dataDir);
  const tokens = {
    site: DEMO_SITES.map((s) => store.create('site', s.name).token),
    dashboard: store.create('dashboard', null).token,
    staff: store.create('staff', null).token,
  };
  store.close();

  const raw = new Database(readModelPath(projectionsDir(dataDir), 'accounting'), { readonly: true });
  const month = DEMO_FIRST_MONTH.plus({ months: 2 });
  const ym = month.year * 100 + month.month;
  const stmt = raw.prepare(
    'SELECT site_name, vo, SUM(vms), SUM(wall), SUM(cpu), SUM(wall * cpu_count) FROM acc_summaries WHERE ym = ? GROUP BY site_name, vo',
  );
  let n = 0;
  const baseline = await measure('raw better-sqlite3 monthly summary query', 0, () => {
    const until = Date.now() + 2000;
    while (Date.now() < until) {
      stmt.all(ym);
      n++;
    }
  });
  baseline.count = n;
  raw.close();

  const server = await startServer(dataDir, LOG_LEVEL);
  try {
    for (const method of METHODS) {
      const run = await load(server.url, tokens, method);
      const label =
        method === 'GET' ? `API ${CLIENTS} clients, GET polling` : `API ${CLIENTS} clients, POST (uncached)`;
      report({ label, count: run.requests, seconds: SECONDS }, baseline);
      console.log(
        `  ${run.requests.toLocaleString('en-US')} requests, ${run.errors} errors, ${Math.round(run.requests / SECONDS).toLocaleString('en-US')} req/s, p50 ${run.p50.toFixed(1)} ms, p99 ${run.p99.toFixed(1)} ms`,
      );
    }
    console.log(`baseline: ${Math.round(rate(baseline)).toLocaleString('en-US')} raw summary queries/s in-process`);
  } finally {
    await server.stop();
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}

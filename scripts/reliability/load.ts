/**
 * `npm run test:load [-- --records 1000000 --seconds 60 --rate 10000 --pollers 100 --batch 500 --seed 1 --post]`:
 * `fedledger serve` (a child process on 127.0.0.1) over the API benchmark's store (its seeded 1M usage records and
 * the demo federation's probe results, built by scripts/bench/api.ts), polled over GraphQL by concurrent clients
 * while usage records are pushed to POST /v1/apel/cloud at a fixed rate. Rate limits are off in that server (the
 * pollers share a few tokens). Prints errors, p50/p99 per route, push acceptance, and whether every pushed record
 * is in the store exactly once. Exits 1 on any error or missing/doubled record.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TokenStore } from '../../src/api/tokens.ts';
import { DEMO_FIRST_MONTH, DEMO_SITES, prng } from '../../src/demo/federation.ts';
import { SqliteEventLog } from '../../src/eventlog/sqlite.ts';
import { streams } from '../../src/events/catalogue.ts';
import { startServer } from '../bench/serve-child.ts';
import { numberArg } from '../bench/harness.ts';

const RECORDS = numberArg('records', 1_000_000);
const SECONDS = numberArg('seconds', 60);
const RATE = numberArg('rate', 10_000);
const POLLERS = numberArg('pollers', 100);
const BATCH = numberArg('batch', 500);
const SEED = numberArg('seed', 1);
/** GET polls as dashboards do (answered from the response cache until a projection commits); POST runs every query. */
const METHOD = process.argv.includes('--post') ? 'POST' : 'GET';

const latencies = new Map<string, number[]>();
let errors = 0;
/** Errors by route and status (or network failure), with the first answer of each kind. */
const errorKinds = new Map<string, { count: number; sample: string }>();
function observe(route: string, ms: number, failure: { kind: string; detail: string } | null): void {
  let list = latencies.get(route);
  if (!list) latencies.set(route, (list = []));
  list.push(ms);
  if (failure) {
    errors += 1;
    const key = `${route} ${failure.kind}`;
    const seen = errorKinds.get(key) ?? { count: 0, sample: failure.detail.slice(0, 200) };
    seen.count += 1;
    errorKinds.set(key, seen);
  }
}
const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

async function timed(route: string, url: string, init: RequestInit, graphql: boolean): Promise<string> {
  const started = performance.now();
  try {
    const response = await fetch(url, init);
    const body = await response.text();
    const ok = response.status === 200 && !(graphql && body.includes('"errors"'));
    observe(route, performance.now() - started, ok ? null : { kind: String(response.status), detail: body });
    return ok ? body : '';
  } catch (error) {
    observe(route, performance.now() - started, { kind: 'network error', detail: String(error) });
    return '';
  }
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-load-'));
try {
  const started = Date.now();
  const built = spawnSync(
    process.execPath,
    [
      '--import=tsx',
      fileURLToPath(new URL('../bench/api.ts', import.meta.url)),
      '--records',
      String(RECORDS),
      '--populate-into',
      dataDir,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (built.status !== 0) throw new Error(`building the store failed (${built.status})`);
  const records = Number(built.stdout.trim().split('\n').pop());
  const before = new SqliteEventLog(path.join(dataDir, 'events.sqlite'));
  const headBefore = await before.headPosition();
  await before.close();
  console.log(
    `store: ${records.toLocaleString('en-US')} usage records + demo probe results, built in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  const tokenStore = new TokenStore(dataDir);
  const staff = tokenStore.create('staff', null).token;
  const dashboard = tokenStore.create('dashboard', null).token;
  tokenStore.close();

  const server = await startServer(dataDir, 'warn');
  // Each pushed record's stream, and whether the push that carried it was answered 200.
  const pushed = new Map<string, boolean>();
  let pushedRecords = 0;
  let acceptedRecords = 0;
  try {
    const started0 = Date.now();
    const deadline = started0 + SECONDS * 1000;
    const month = DEMO_FIRST_MONTH.plus({ months: 2 });
    const polls = [
      {
        route: 'accountingSummary',
        dashboard: false,
        query:
          'query ($m: String!) { accountingSummary(groupBy: [site, vo], filter: { from: $m, to: $m }) { rows { key { site vo } figures { vms coreHours } } } }',
        variables: { m: month.toFormat('yyyy-MM') },
      },
      {
        route: 'availability',
        // Dashboards may read availability (not usage by VO): half the pollers use such a token.
        dashboard: true,
        query:
          'query ($from: String!, $to: String!) { availability(from: $from, to: $to, granularity: monthly, levels: [site]) { site availability reliability } }',
        variables: { from: month.toISODate(), to: month.endOf('month').toISODate() },
      },
    ];
    const poller = async (client: number) => {
      for (let i = client; Date.now() < deadline; i++) {
        const poll = polls[i % polls.length]!;
        const headers = {
          authorization: `Bearer ${poll.dashboard && client % 2 ? dashboard : staff}`,
          accept: 'application/json',
        };
        const variables = JSON.stringify(poll.variables);
        if (METHOD === 'GET')
          await timed(
            `GET ${poll.route}`,
            `${server.url}/graphql?${new URLSearchParams({ query: poll.query, variables })}`,
            { headers },
            true,
          );
        else
          await timed(
            `POST ${poll.route}`,
            `${server.url}/graphql`,
            {
              method: 'POST',
              headers: { ...headers, 'content-type': 'application/json' },
              body: `{"query":${JSON.stringify(poll.query)},"variables":${variables}}`,
            },
            true,
          );
      }
    };
    // Pushes go out on a fixed schedule, not after the previous answer: a slow server shows as latency, not a lower rate.
    const rand = prng(SEED);
    const start = DEMO_FIRST_MONTH.toSeconds();
    const pushes: Array<Promise<void>> = [];
    const pusher = async () => {
      const interval = (1000 * BATCH) / RATE;
      for (let n = 0; Date.now() < deadline; n++) {
        const lines = ['APEL-cloud-message: v0.4'];
        const carried: string[] = [];
        for (let r = 0; r < BATCH; r++) {
          const uuid = `load-${SEED}-${pushedRecords.toString(16).padStart(8, '0')}`;
          const site = DEMO_SITES[Math.floor(rand() * DEMO_SITES.length)]!.name;
          const wall = 3600 + Math.floor(rand() * 86_400);
          carried.push(streams.vm(site, uuid));
          pushed.set(carried.at(-1)!, false);
          pushedRecords += 1;
          if (r > 0) lines.push('%%');
          lines.push(
            `VMUUID: ${uuid}`,
            `SiteName: ${site}`,
            'FQAN: /load/Role=NULL',
            'Status: started',
            `StartTime: ${start}`,
            `WallDuration: ${wall}`,
            `CpuDuration: ${wall * 2}`,
            'CpuCount: 2',
          );
        }
        const body = lines.join('\n') + '\n';
        pushes.push(
          timed(
            'POST /v1/apel/cloud',
            `${server.url}/v1/apel/cloud`,
            {
              method: 'POST',
              headers: { authorization: `Bearer ${staff}`, 'content-type': 'text/plain' },
              body,
            },
            false,
          ).then((answer) => {
            if (!answer) return;
            acceptedRecords += (JSON.parse(answer) as { accepted: number }).accepted;
            for (const stream of carried) pushed.set(stream, true);
          }),
        );
        const wait = started0 + (n + 1) * interval - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    };
    await Promise.all([pusher(), ...Array.from({ length: POLLERS }, (_, c) => poller(c))]);
    await Promise.all(pushes);
    const elapsed = (Date.now() - started0) / 1000;
    console.log(
      `load: ${POLLERS} GraphQL ${METHOD} pollers and pushes of ${BATCH} records at ${RATE.toLocaleString('en-US')} records/s for ${SECONDS} s (seed ${SEED})`,
    );
    for (const [route, list] of latencies) {
      list.sort((a, b) => a - b);
      console.log(
        `  ${route.padEnd(28)} ${list.length.toLocaleString('en-US').padStart(9)} requests, p50 ${percentile(list, 50).toFixed(1)} ms, p99 ${percentile(list, 99).toFixed(1)} ms`,
      );
    }
    console.log(
      `push acceptance: ${acceptedRecords.toLocaleString('en-US')} / ${pushedRecords.toLocaleString('en-US')} records accepted, ${Math.round(acceptedRecords / elapsed).toLocaleString('en-US')} records/s achieved`,
    );
  } finally {
    await server.stop();
  }

  // Every pushed record in the store once: the events appended since the load began, by stream.
  const log = new SqliteEventLog(path.join(dataDir, 'events.sqlite'));
  const seen = new Map<string, number>();
  for await (const e of log.readAll({ fromPosition: headBefore + 1n, filter: { eventTypes: ['CloudUsageRecorded'] } }))
    seen.set(e.stream, (seen.get(e.stream) ?? 0) + 1);
  await log.close();
  // Missing: acknowledged (its push answered 200) but not stored, a loss. A refused push's records may or may not be stored.
  let stored = 0;
  let acknowledged = 0;
  let missing = 0;
  let doubled = 0;
  for (const [stream, acked] of pushed) {
    const n = seen.get(stream) ?? 0;
    if (acked) acknowledged += 1;
    if (n > 0) stored += 1;
    if (n === 0 && acked) missing += 1;
    if (n > 1) doubled += 1;
  }
  for (const [kind, { count, sample }] of errorKinds) console.log(`  errors ${kind}: ${count} (${sample})`);
  const fmt = (n: number) => n.toLocaleString('en-US');
  console.log(
    `errors: ${errors}, pushed records: ${fmt(pushed.size)}, acknowledged: ${fmt(acknowledged)}, in store: ${fmt(stored)}, missing (acknowledged, not stored): ${missing}, doubled: ${doubled}`,
  );
  process.exitCode = errors === 0 && stored === pushed.size && doubled === 0 ? 0 : 1;
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}

/**
 * Availability benchmark: a month of a FedCloud federation (300 sites, two
 * org.openstack.nova endpoints each, the VM probe hourly and the Keystone
 * TCP probe every 5 minutes) ingested through `ingestProbeLines`, projected
 * into the `availability` read model, then one late result absorbed.
 * Baseline: raw better-sqlite3 inserts of the same rows, in the same process.
 * The full month is measured twice: ingest then projection on one thread,
 * and as `fedledger ingest probes --project` runs it, the projection following
 * the ingest on a worker thread, in a fresh process (`--pipeline`: its own
 * baseline, and a digest of the monthly site rows to compare).
 * Run: npm run bench:availability   (BENCH_SITES / BENCH_DAYS to scale down)
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { availabilityProjection } from '../../projections/availability/apply.ts';
import { arReport } from '../../projections/availability/queries.ts';
import { EVENTLOG_FILE } from '../../src/eventlog/open.ts';
import { SqliteEventLog } from '../../src/eventlog/sqlite.ts';
import { ingestGocdb, ingestProbeLines } from '../../src/ingest/availability-service.ts';
import { ProjectionRunner } from '../../src/projection/runner.ts';
import { projectingAlongside } from '../../src/projection/worker.ts';
import { measure, peakRssMiB, report, runFresh } from './harness.ts';
import { sha256Hex } from '../../src/events/ids.ts';

const PIPELINE = process.argv.includes('--pipeline');
const SITES = Number(process.env['BENCH_SITES'] ?? 300);
const DAYS = Number(process.env['BENCH_DAYS'] ?? 31);
const START = Date.UTC(2026, 0, 1) / 1000;
const dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-bench-av-'));

const host = (site: number, k: number) => `cloud${k}.site${site}.example.org`;

/** Every probe result of the month, endpoint by endpoint (as a monitoring box would export them). */
function* results(): Generator<{ hostname: string; metric: string; ts: number; status: string; summary: string }> {
  for (let site = 0; site < SITES; site++)
    for (let k = 0; k < 2; k++) {
      const hostname = host(site, k);
      for (let day = 0; day < DAYS; day++) {
        const base = START + day * 86_400;
        for (let m = 0; m < 288; m++) {
          const ts = base + m * 300 + 7;
          // A deterministic sprinkle of failures: about 2 % of checks.
          const bad = (site * 7 + k * 13 + day * 31 + m) % 50 === 0;
          yield {
            hostname,
            metric: 'org.nagios.Keystone-TCP',
            ts,
            status: bad ? 'CRITICAL' : 'OK',
            summary: bad ? 'Connection refused' : 'TCP OK - 0.041 second response time',
          };
          if (m % 12 === 0) {
            const vmBad = (site + day + m) % 97 === 0;
            yield {
              hostname,
              metric: 'eu.egi.cloud.OpenStack-VM',
              ts: ts + 120,
              status: vmBad ? 'CRITICAL' : 'OK',
              summary: vmBad
                ? 'Critical: No valid host was found'
                : 'OK: Compute instance created(21.37s) and destroyed(4.02s)',
            };
          }
        }
      }
    }
}

const iso = (ts: number) => new Date(ts * 1000).toISOString().replace('.000Z', 'Z');
function* lines(): Generator<string> {
  for (const r of results())
    yield JSON.stringify({
      timestamp: iso(r.ts),
      service: 'org.openstack.nova',
      hostname: r.hostname,
      metric: r.metric,
      status: r.status,
      monitoring_host: 'argo-mon.example.org',
      summary: r.summary,
      message: r.summary,
    });
}

function topology(): string {
  const eps: string[] = [];
  for (let site = 0; site < SITES; site++)
    for (let k = 0; k < 2; k++)
      eps.push(
        `<SERVICE_ENDPOINT PRIMARY_KEY="${site * 2 + k}G0"><HOSTNAME>${host(site, k)}</HOSTNAME><SERVICE_TYPE>org.openstack.nova</SERVICE_TYPE><IN_PRODUCTION>Y</IN_PRODUCTION><NODE_MONITORED>Y</NODE_MONITORED><SITENAME>SITE-${site}</SITENAME><ROC_NAME>NGI_${site % 20}</ROC_NAME></SERVICE_ENDPOINT>`,
      );
  return `<?xml version="1.0" encoding="UTF-8"?><results>${eps.join('')}</results>`;
}

const total = SITES * 2 * DAYS * (288 + 24);
if (!PIPELINE)
  console.log(
    `availability benchmark: ${SITES} sites, ${DAYS} days, ${total.toLocaleString('en-US')} probe results (${dir})`,
  );

const baseline = await measure('raw better-sqlite3 insert', total, () => {
  const db = new Database(path.join(dir, 'raw.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE r (id INTEGER PRIMARY KEY, hostname TEXT, metric TEXT, ts INTEGER, status TEXT, summary TEXT)');
  const insert = db.prepare('INSERT INTO r (hostname, metric, ts, status, summary) VALUES (?, ?, ?, ?, ?)');
  let batch: Array<ReturnType<typeof results> extends Generator<infer T> ? T : never> = [];
  const tx = db.transaction((rows: typeof batch) => {
    for (const r of rows) insert.run(r.hostname, r.metric, r.ts, r.status, r.summary);
  });
  for (const r of results()) {
    batch.push(r);
    if (batch.length === 20_000) {
      tx(batch);
      batch = [];
    }
  }
  tx(batch);
  db.close();
});

const now = new Date((START + DAYS * 86_400) * 1000);
const monthly = {
  from: '2026-01-01',
  to: iso(START + (DAYS - 1) * 86_400).slice(0, 10),
  granularity: 'monthly',
  now,
  levels: ['site'],
} as const;
const monthlyDigest = (db: Parameters<typeof arReport>[0]) => sha256Hex(JSON.stringify(arReport(db, monthly)));

if (PIPELINE) {
  // The product's pipeline: `ingest probes --project`, the projection on a worker thread.
  const log = new SqliteEventLog(path.join(dir, EVENTLOG_FILE));
  await ingestGocdb(log, topology(), { publisher: 'bench' });
  const pipeline = await measure('full month, projection on a worker thread', total, () =>
    projectingAlongside({ dataDir: dir, eventstoreUrl: undefined }, ['availability'], () =>
      ingestProbeLines(log, lines(), { publisher: 'bench' }),
    ),
  );
  report(pipeline, baseline);
  const runner = new ProjectionRunner(log, availabilityProjection, path.join(dir, 'projections'));
  console.log(
    `pipeline: ${pipeline.seconds.toFixed(2)} s, peak RSS ${peakRssMiB()} MiB, rows ${monthlyDigest(runner.db)}`,
  );
  await runner.close();
  await log.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

const log = new SqliteEventLog(path.join(dir, EVENTLOG_FILE));
await ingestGocdb(log, topology(), { publisher: 'bench' });
let summary;
const ingest = await measure('ingestProbeLines (parse, validate, append)', total, async () => {
  summary = await ingestProbeLines(log, lines(), { publisher: 'bench' });
});
console.log(`ingest: ${JSON.stringify(summary)}`);
report(ingest, baseline);

const runner = new ProjectionRunner(log, availabilityProjection, path.join(dir, 'projections'));
const projection = await measure('availability projection catch-up', total, () => runner.catchUp());
report(projection, baseline);

const rows = arReport(runner.db, monthly);
const digest = monthlyDigest(runner.db);
console.log(
  `monthly site rows: ${rows.length}, first: ${JSON.stringify(rows[0] && { site: rows[0].site, availability: rows[0].availability, reliability: rows[0].reliability })}`,
);

const lateDay = START + Math.floor(DAYS / 2) * 86_400;
const late = await measure('one late result: ingest + projection', 1, async () => {
  await ingestProbeLines(
    log,
    [
      JSON.stringify({
        timestamp: iso(lateDay + 3 * 3600 + 1),
        service: 'org.openstack.nova',
        hostname: host(0, 0),
        metric: 'eu.egi.cloud.OpenStack-VM',
        status: 'CRITICAL',
        summary: 'late',
        message: 'late',
        monitoring_host: 'bench',
      }),
    ],
    { publisher: 'bench' },
  );
  await runner.catchUp();
});

const sequentialRss = peakRssMiB();
await runner.close();
await log.close();
rmSync(dir, { recursive: true, force: true });
const fresh = runFresh(fileURLToPath(import.meta.url), ['--pipeline']);
const pipelined = /pipeline: ([\d.]+) s, peak RSS (\d+) MiB, rows (\w+)/.exec(fresh)!;

const seconds = (s: number) => `${s.toFixed(2)} s`;
console.log('');
console.log(`ingest           ${seconds(ingest.seconds)}`);
console.log(`projection       ${seconds(projection.seconds)}`);
console.log(`full month       ${seconds(ingest.seconds + projection.seconds)} one stage after the other`);
console.log(
  `full month       ${seconds(Number(pipelined[1]))} with the projection on a worker thread, in a fresh process (monthly site rows ${pipelined[3] === digest ? 'identical' : 'DIFFER'})  (target < 120 s)`,
);
console.log(`late result      ${(late.seconds * 1000).toFixed(1)} ms  (target < 1 s)`);
console.log(`peak RSS         ${sequentialRss} MiB one stage after the other, ${pipelined[2]} MiB with the worker`);

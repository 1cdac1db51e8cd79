import test from 'ava';
import Database from 'better-sqlite3';
import path from 'node:path';
import { availabilityProjection } from '../../projections/availability/apply.ts';
import { decode } from '../../src/events/codec.ts';
import { openEventLog } from '../../src/eventlog/open.ts';
import type { EventLog, RecordedEvent } from '../../src/eventlog/port.ts';
import { ingestGocdb, ingestProbeLines } from '../../src/ingest/availability-service.ts';
import { ProjectionRunner } from '../../src/projection/runner.ts';
import { tempDir } from '../support/tmp.ts';

const SITES = 4;
const DAYS = 6;
const START = Date.UTC(2026, 2, 1) / 1000;
const host = (site: number, k: number) => `cloud${k}.site${site}.example.org`;
const topology = `<results>${Array.from({ length: SITES * 2 }, (_, i) => {
  const [site, k] = [Math.floor(i / 2), i % 2];
  return `<SERVICE_ENDPOINT><HOSTNAME>${host(site, k)}</HOSTNAME><SERVICE_TYPE>org.openstack.nova</SERVICE_TYPE><IN_PRODUCTION>Y</IN_PRODUCTION><NODE_MONITORED>Y</NODE_MONITORED><SITENAME>SITE-${site}</SITENAME></SERVICE_ENDPOINT>`;
}).join('')}</results>`;
const downtime = `<results><DOWNTIME ID="7" PRIMARY_KEY="7G0" CLASSIFICATION="SCHEDULED"><PRIMARY_KEY>7G0</PRIMARY_KEY><HOSTNAME>${host(1, 0)}</HOSTNAME><SERVICE_TYPE>org.openstack.nova</SERVICE_TYPE><HOSTED_BY>SITE-1</HOSTED_BY><SEVERITY>OUTAGE</SEVERITY><DESCRIPTION>upgrade</DESCRIPTION><START_DATE>${START + 86_400 + 3600}</START_DATE><END_DATE>${START + 2 * 86_400 + 7200}</END_DATE><CLASSIFICATION>SCHEDULED</CLASSIFICATION></DOWNTIME></results>`;

interface Result {
  hostname: string;
  metric: string;
  ts: number;
  status: string;
}

/** Every 15 minutes the TCP probe, every hour the VM probe, with a sprinkle of failures: endpoint by endpoint. */
function endpointMajor(): Result[] {
  const out: Result[] = [];
  for (let site = 0; site < SITES; site++)
    for (let k = 0; k < 2; k++)
      for (let m = 0; m < DAYS * 96; m++) {
        const ts = START + m * 900 + 11;
        out.push({
          hostname: host(site, k),
          metric: 'org.nagios.Keystone-TCP',
          ts,
          status: (site + k + m) % 23 ? 'OK' : 'CRITICAL',
        });
        if (m % 4 === 0)
          out.push({
            hostname: host(site, k),
            metric: 'eu.egi.cloud.OpenStack-VM',
            ts: ts + 60,
            status: (site * 3 + m) % 37 ? 'OK' : 'WARNING',
          });
      }
  return out;
}

const line = (r: Result) =>
  JSON.stringify({
    timestamp: new Date(r.ts * 1000).toISOString().replace('.000Z', 'Z'),
    hostname: r.hostname,
    service: 'org.openstack.nova',
    metric: r.metric,
    status: r.status,
    summary: '',
    message: '',
    monitoring_host: 'mon',
  });

const TABLES = [
  'SELECT e.hostname, d.day, d.timeline, d.up, d.unknown, d.down, d.critical, d.total FROM endpoint_days d JOIN endpoints e ON e.id = d.endpoint ORDER BY 1, 2',
  'SELECT site, level, name, day, timeline, up, unknown, down, critical, total FROM level_days ORDER BY 1, 2, 3, 4',
];
const tables = (db: Database.Database) => TABLES.map((sql) => db.prepare(sql).all());

async function projected(
  results: Result[],
): Promise<{ rows: unknown[]; deferred: number; cleanup: () => Promise<void> }> {
  const tmp = tempDir();
  const log = await openEventLog({ dataDir: tmp.dir });
  await ingestGocdb(log, topology, { publisher: 't' });
  await ingestProbeLines(log, results.slice(0, 2000).map(line), { publisher: 't' });
  await ingestGocdb(log, downtime, { publisher: 't' });
  await ingestProbeLines(log, results.slice(2000).map(line), { publisher: 't' });
  const runner = new ProjectionRunner(log, availabilityProjection, path.join(tmp.dir, 'projections'));
  await runner.catchUp();
  const deferred = runner.db.prepare('SELECT count(*) FROM deferred_days').pluck().get() as number;
  const rows = tables(runner.db);
  return {
    rows,
    deferred,
    cleanup: async () => {
      await runner.close();
      await log.close();
      tmp.cleanup();
    },
  };
}

test('fed in time order or endpoint by endpoint, over many batches, the read model is the same and nothing stays put off', async (t) => {
  const byEndpoint = endpointMajor();
  t.true(byEndpoint.length > 5 * 1000);
  const byTime = [...byEndpoint].sort((a, b) => a.ts - b.ts || (a.hostname < b.hostname ? -1 : 1));
  const a = await projected(byEndpoint);
  const b = await projected(byTime);
  t.is(a.deferred, 0);
  t.is(b.deferred, 0);
  t.true((a.rows[0] as unknown[]).length >= SITES * 2 * DAYS);
  t.deepEqual(b.rows, a.rows);
  await a.cleanup();
  await b.cleanup();
});

test('a batch short of the head puts off the current days (kept in deferred_days); the batch at the head computes them', async (t) => {
  const tmp = tempDir();
  const log = await openEventLog({ dataDir: tmp.dir });
  await ingestGocdb(log, topology, { publisher: 't' });
  const day0 = endpointMajor().filter((r) => r.hostname === host(0, 0) && r.ts < START + 86_400);
  await ingestProbeLines(log, day0.map(line), { publisher: 't' });
  const events: RecordedEvent[] = [];
  for await (const e of log.readAll()) events.push(e);
  const db = new Database(path.join(tmp.dir, 'direct.sqlite'));
  availabilityProjection.setup(db);
  const opened = availabilityProjection.open(db);
  const ctx = (atHead: boolean) => ({ changed: () => undefined, atHead });
  const days = () => db.prepare('SELECT day FROM endpoint_days ORDER BY day').pluck().all();
  const deferred = () => db.prepare('SELECT day FROM deferred_days ORDER BY day').all();
  const batch = events.map((e) => ({
    event: decode(e),
    id: e.id,
    stream: e.stream,
    position: e.position,
    created: e.created,
  }));
  db.transaction(() => opened.apply(batch, ctx(false)))();
  const today = Math.floor(START / 86_400);
  t.deepEqual(days(), []);
  t.deepEqual(deferred(), [{ day: today }, { day: today + 1 }]);
  // A fresh opening of the file (a restart) finds them and finishes them at the head.
  const reopened = availabilityProjection.open(db);
  db.transaction(() => reopened.apply([], ctx(true)))();
  t.deepEqual(days(), ['2026-03-01', '2026-03-02']);
  t.deepEqual(deferred(), []);
  db.close();
  await log.close();
  tmp.cleanup();
});

test('live, behind a long time-ordered feed: once quiet, the read model equals a rebuild', async (t) => {
  const tmp = tempDir();
  const log: EventLog = await openEventLog({ dataDir: tmp.dir });
  await ingestGocdb(log, topology, { publisher: 't' });
  const runner = new ProjectionRunner(log, availabilityProjection, path.join(tmp.dir, 'projections'));
  await runner.catchUp();
  runner.start();
  const byTime = endpointMajor().sort((a, b) => a.ts - b.ts || (a.hostname < b.hostname ? -1 : 1));
  await ingestProbeLines(log, byTime.map(line), { publisher: 't' });
  const head = await log.headPosition();
  while (runner.checkpoint < head) await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const live = tables(runner.db);
  t.is(runner.db.prepare('SELECT count(*) FROM deferred_days').pluck().get(), 0);
  await runner.rebuild();
  t.deepEqual(live, tables(runner.db));
  await runner.close();
  await log.close();
  tmp.cleanup();
});

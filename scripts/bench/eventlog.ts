/**
 * Event log benchmark: the embedded SQLite store against raw better-sqlite3
 * doing the same inserts and reads, in the same process, on the same disk.
 * Run: npm run bench:eventlog
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EventLog } from '../../src/eventlog/port.ts';
import { type EncodedEvent, encode, metadataJson } from '../../src/events/codec.ts';
import { SqliteEventLog } from '../../src/eventlog/sqlite.ts';
import type { Projection } from '../../src/projection/projection.ts';
import { ProjectionRunner } from '../../src/projection/runner.ts';
import { measure, peakRssMiB, report } from './harness.ts';

const SINGLE = 2_000;
const BATCHED = 200_000;
const BULK = 1000;
const dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-bench-'));

/** State changes of 5000 VMs, one per second: ids as ingest makes them (time-ordered, content-derived). */
function makeEvents(n: number, offset: number): EncodedEvent[] {
  return Array.from({ length: n }, (_, k) => {
    const i = offset + k;
    const at = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
    const data = {
      vmUuid: `vm-${i % 5000}`,
      siteName: 'BENCH-SITE',
      state: 'started',
      previousState: null,
      at,
      source: 'bench',
    };
    return encode('VmStateChanged', data, [data.vmUuid, i]);
  });
}

/** The store's own table layout and pragmas, written to directly. */
function rawDb(file: string): Database.Database {
  const db = new Database(path.join(dir, file));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('wal_autocheckpoint = 10000');
  db.exec(`CREATE TABLE streams (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    CREATE TABLE events (position INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, stream INTEGER NOT NULL, revision INTEGER NOT NULL,
    type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT, created INTEGER NOT NULL);
    CREATE UNIQUE INDEX events_stream_revision ON events (stream, revision)`);
  const insert = db.prepare('INSERT INTO streams (id, name) VALUES (?, ?)');
  for (let i = 0; i < 100; i++) insert.run(i, `raw-${i}`);
  return db;
}

const rawRevisions = new Map<number, number>();
let rawCalls = 0;
/** Raw inserts of the same events, `perTx` per transaction, each transaction to one of 100 streams as the store's calls are. */
function rawAppend(db: Database.Database, events: EncodedEvent[], perTx: number): void {
  const insert = db.prepare(
    'INSERT INTO events (id, stream, revision, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const tx = db.transaction((chunk: EncodedEvent[]) => {
    const stream = rawCalls++ % 100;
    let revision = rawRevisions.get(stream) ?? -1;
    for (const e of chunk) {
      revision += 1;
      const id = Buffer.from(e.id.replaceAll('-', ''), 'hex');
      insert.run(id, stream, revision, e.type, e.dataJson, metadataJson(e.schemaVersion), Date.now());
    }
    rawRevisions.set(stream, revision);
  });
  for (let i = 0; i < events.length; i += perTx) tx(events.slice(i, i + perTx));
}

async function appendAll(
  log: EventLog,
  events: EncodedEvent[],
  perCall: number,
  writers: number,
  streamTag: string,
): Promise<void> {
  const chunks: EncodedEvent[][] = [];
  for (let i = 0; i < events.length; i += perCall) chunks.push(events.slice(i, i + perCall));
  let next = 0;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      while (next < chunks.length) {
        const chunk = chunks[next++]!;
        await log.append(`${streamTag}-${w}-${next % 100}`, chunk);
      }
    }),
  );
}

const log = new SqliteEventLog(path.join(dir, 'events.sqlite'));
const raw = rawDb('raw.sqlite');

console.log(`fedledger event log benchmark (${os.cpus().length} cores, node ${process.version})`);
const single = makeEvents(SINGLE, 0);
report(
  await measure('append, 1 event per call', SINGLE, () => appendAll(log, single, 1, 1, 'one')),
  await measure('raw insert, 1 per transaction', SINGLE, () => rawAppend(raw, single, 1)),
);
const batched = makeEvents(BATCHED, SINGLE);
report(
  await measure('append, 100 events per call', BATCHED, () => appendAll(log, batched, 100, 1, 'hundred')),
  await measure('raw insert, 100 per transaction', BATCHED, () => rawAppend(raw, batched, 100)),
);
const bulk = makeEvents(BATCHED, SINGLE + BATCHED);
report(
  await measure(`append, ${BULK} events per call`, BATCHED, () => appendAll(log, bulk, BULK, 1, 'bulk')),
  await measure(`raw insert, ${BULK} per transaction`, BATCHED, () =>
    rawAppend(raw, makeEvents(BATCHED, 10 * BATCHED), BULK),
  ),
);
const concurrentSingles = makeEvents(20_000, SINGLE + 2 * BATCHED);
report(
  await measure('append, 4 concurrent writers x 1 event', concurrentSingles.length, () =>
    appendAll(log, concurrentSingles, 1, 4, 'four'),
  ),
  await measure('raw insert, 1 per transaction', SINGLE, () => rawAppend(raw, makeEvents(SINGLE, 11 * BATCHED), 1)),
);
const concurrent = makeEvents(BATCHED, 3 * BATCHED);
report(
  await measure('append, 4 concurrent writers x 100 events', BATCHED, () =>
    appendAll(log, concurrent, 100, 4, 'fourh'),
  ),
  await measure('raw insert, 100 per transaction', BATCHED, () =>
    rawAppend(raw, makeEvents(BATCHED, 12 * BATCHED), 100),
  ),
);

const total = Number(await log.headPosition());
const rawRead = () => {
  let n = 0;
  for (const row of raw.prepare('SELECT * FROM events ORDER BY position').iterate() as Iterable<{
    data: string;
    metadata: string;
  }>) {
    JSON.parse(row.data);
    JSON.parse(row.metadata);
    n++;
  }
  return n;
};
const rawCount = raw.prepare('SELECT count(*) FROM events').pluck().get() as number;
const rawReadMeasured = await measure('raw SELECT + JSON.parse', rawCount, rawRead);
report(
  await measure('readAll forwards', total, async () => {
    for await (const _ of log.readAll()) void _;
  }),
  rawReadMeasured,
);
report(
  await measure('subscription catch-up', total, async () => {
    let n = 0;
    const sub = log.subscribe();
    for await (const _ of sub) if (++n === total) break;
  }),
  rawReadMeasured,
);

const smallTable: Projection = {
  name: 'bench',
  version: 1,
  eventTypes: ['VmStateChanged'],
  setup: (db) => db.exec('CREATE TABLE states (vm TEXT NOT NULL, state TEXT NOT NULL, at TEXT NOT NULL)'),
  open(db) {
    const insert = db.prepare('INSERT INTO states (vm, state, at) VALUES (?, ?, ?)');
    return {
      apply(batch) {
        for (const { event } of batch)
          if (event.type === 'VmStateChanged') insert.run(event.data.vmUuid, event.data.state, event.data.at);
      },
    };
  },
};
const runner = new ProjectionRunner(log, smallTable, path.join(dir, 'projections'));
const projected = await measure('projection apply (read + apply + checkpoint)', total, () => runner.catchUp());
const rawProjection = new Database(path.join(dir, 'raw-projection.sqlite'));
rawProjection.pragma('journal_mode = WAL');
rawProjection.pragma('synchronous = NORMAL');
rawProjection.exec('CREATE TABLE states (vm TEXT NOT NULL, state TEXT NOT NULL, at TEXT NOT NULL)');
const rows = raw.prepare('SELECT data FROM events ORDER BY position').pluck().all() as string[];
report(
  projected,
  await measure('raw read + insert, 1000 per transaction', rows.length, () => {
    const insert = rawProjection.prepare('INSERT INTO states (vm, state, at) VALUES (?, ?, ?)');
    const tx = rawProjection.transaction((chunk: string[]) => {
      for (const r of chunk) {
        const d = JSON.parse(r) as { vmUuid: string; state: string; at: string };
        insert.run(d.vmUuid, d.state, d.at);
      }
    });
    const fresh = raw.prepare('SELECT data FROM events ORDER BY position').pluck().all() as string[];
    for (let i = 0; i < fresh.length; i += 1000) tx(fresh.slice(i, i + 1000));
  }),
);
console.log(`peak RSS ${peakRssMiB()} MiB`);
await runner.close();
await log.close();
raw.close();
rawProjection.close();
rmSync(dir, { recursive: true, force: true });

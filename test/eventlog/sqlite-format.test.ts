import test from 'ava';
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { SqliteEventLog } from '../../src/eventlog/sqlite.ts';
import type { RecordedEvent } from '../../src/eventlog/port.ts';
import { rawEvent } from '../support/raw-events.ts';
import { tempDir } from '../support/tmp.ts';

async function all(log: SqliteEventLog): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of log.readAll()) out.push(e);
  return out;
}

test('a store in the first format (text ids and stream names) is migrated in place with every event kept', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const file = path.join(tmp.dir, 'events.sqlite');
  const old = new Database(file);
  old.exec(`CREATE TABLE events (position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL,
    revision INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT, created INTEGER NOT NULL);
    CREATE UNIQUE INDEX events_stream_revision ON events (stream, revision);`);
  const rows = [
    { stream: 'vm-b', revision: 0 },
    { stream: 'vm-a', revision: 0 },
    { stream: 'vm-b', revision: 1 },
  ].map((r, i) => ({ ...r, id: randomUUID(), position: 10 + i * 5, data: JSON.stringify({ i }) }));
  const insert = old.prepare(
    "INSERT INTO events VALUES (@position, @id, @stream, @revision, 'TestHappened', @data, NULL, 1700000000000)",
  );
  for (const r of rows) insert.run(r);
  old.close();

  const log = new SqliteEventLog(file);
  t.teardown(() => log.close());
  t.deepEqual(
    (await all(log)).map((e) => ({
      position: e.position,
      id: e.id,
      stream: e.stream,
      revision: e.revision,
      data: e.data,
    })),
    rows.map((r) => ({
      position: BigInt(r.position),
      id: r.id,
      stream: r.stream,
      revision: BigInt(r.revision),
      data: JSON.parse(r.data) as unknown,
    })),
  );
  const next = await log.append('vm-b', [rawEvent('TestHappened', { i: 3 })], 1n);
  t.is(next.nextRevision, 2n);
  t.true(next.position > 20n);
  const again = await log.append('vm-a', [rawEvent('TestHappened', { i: 1 }, rows[1]!.id)]);
  t.deepEqual(again, { nextRevision: 0n, position: 15n, written: 0 }, 'a migrated id is still recognised');
});

test('a new store is made with 16 KiB pages; one made with 4 KiB pages keeps them and stays writable', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const pageSize = (file: string) => {
    const db = new Database(file, { readonly: true });
    const size = db.pragma('page_size', { simple: true }) as number;
    db.close();
    return size;
  };
  const fresh = path.join(tmp.dir, 'fresh.sqlite');
  const freshLog = new SqliteEventLog(fresh);
  await freshLog.append('vm-a', [rawEvent('TestHappened', { i: 0 })]);
  await freshLog.close();
  t.is(pageSize(fresh), 16_384);

  const older = path.join(tmp.dir, 'older.sqlite');
  const made = new Database(older);
  made.pragma('page_size = 4096');
  made.pragma('journal_mode = WAL');
  made.close();
  const first = new SqliteEventLog(older);
  await first.append('vm-a', [rawEvent('TestHappened', { i: 0 })]);
  await first.close();
  const reopened = new SqliteEventLog(older);
  t.teardown(() => reopened.close());
  await reopened.append('vm-a', [rawEvent('TestHappened', { i: 1 })], 0n);
  t.deepEqual(
    (await all(reopened)).map((e) => e.data),
    [{ i: 0 }, { i: 1 }],
  );
  t.is(pageSize(older), 4096);
});

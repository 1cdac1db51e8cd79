import test from 'ava';
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { SqliteEventLog } from '../../src/eventlog/sqlite.ts';
import type { RecordedEvent } from '../../src/eventlog/port.ts';
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
  const next = await log.append('vm-b', [{ id: randomUUID(), type: 'TestHappened', data: { i: 3 } }], 1n);
  t.is(next.nextRevision, 2n);
  t.true(next.position > 20n);
  const again = await log.append('vm-a', [{ id: rows[1]!.id, type: 'TestHappened', data: { i: 1 } }]);
  t.deepEqual(again, { nextRevision: 0n, position: 15n, written: 0 }, 'a migrated id is still recognised');
});

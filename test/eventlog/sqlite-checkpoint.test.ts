import test from 'ava';
import { statSync } from 'node:fs';
import path from 'node:path';
import { SqliteEventLog } from '../../src/eventlog/sqlite.ts';
import { tempDir } from '../support/tmp.ts';
import { streams, vmStateEvents } from '../support/vm-events.ts';

/** Appends `n` events to the log in `file`, fewer pages than the writer's own automatic checkpoint waits for. */
async function appended(file: string, n: number): Promise<SqliteEventLog> {
  const log = new SqliteEventLog(file);
  await Promise.all(
    Array.from({ length: n / 1000 }, (_, v) => log.append(streams.vm(`vm-${v}`), vmStateEvents(`vm-${v}`, 1000))),
  );
  return log;
}

for (const [title, subscribe, grows] of [
  ['a live subscription that caught up after 10,000 positions copies the WAL into the database file', true, true],
  ['without one the events stay in the WAL until the writer checkpoints', false, false],
] as const) {
  test(title, async (t) => {
    const tmp = tempDir();
    const file = path.join(tmp.dir, 'events.sqlite');
    const log = await appended(file, 12_000);
    const before = statSync(file).size;
    if (subscribe) {
      const reader = new SqliteEventLog(file);
      const subscription = reader.subscribe();
      const events = subscription[Symbol.asyncIterator]();
      for (let seen = 0; seen < 12_000; seen++) await events.next();
      // Asked for more, it finds itself caught up, checkpoints, and waits for appends.
      const waiting = events.next();
      await new Promise((resolve) => setTimeout(resolve, 50));
      await subscription.stop();
      await waiting;
      await reader.close();
    }
    const after = statSync(file).size;
    t.is(after > before + 1_000_000, grows, `database file ${before} -> ${after} bytes`);
    await log.close();
    tmp.cleanup();
  });
}

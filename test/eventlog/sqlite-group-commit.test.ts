/**
 * The embedded store's group commit: the appends of one tick share a
 * transaction, and each call's appends stand or fall together.
 */
import test from 'ava';
import path from 'node:path';
import { WrongExpectedVersionError } from '../../src/eventlog/port.ts';
import { SqliteEventLog } from '../../src/eventlog/sqlite.ts';
import { rawEvent } from '../support/raw-events.ts';
import { tempDir } from '../support/tmp.ts';

const events = (n: number) => Array.from({ length: n }, (_, i) => rawEvent('TestHappened', { i }));

async function streamLength(log: SqliteEventLog, stream: string): Promise<number> {
  let n = 0;
  try {
    for await (const _ of log.readStream(stream)) n += 1;
  } catch {
    return 0;
  }
  return n;
}

test('appendMany is all or none, and other calls in the same commit still land', async (t) => {
  const tmp = tempDir();
  const log = new SqliteEventLog(path.join(tmp.dir, 'events.sqlite'));
  await log.append('taken', events(1));
  // Issued in one tick, so all three share one transaction.
  const [before, refused, after] = await Promise.allSettled([
    log.append('other', events(1)),
    log.appendMany([
      { stream: 'new', events: events(2) },
      { stream: 'new-too', events: events(1) },
      { stream: 'taken', events: events(1), expected: 'no_stream' },
    ]),
    log.appendMany([{ stream: 'other', events: events(1) }]),
  ]);
  t.is(before.status, 'fulfilled');
  t.true(refused.status === 'rejected' && refused.reason instanceof WrongExpectedVersionError);
  t.deepEqual(after.status === 'fulfilled' ? after.value.map((r) => r.nextRevision) : null, [1n]);
  t.is(await streamLength(log, 'new'), 0);
  t.is(await streamLength(log, 'new-too'), 0);
  t.is(await streamLength(log, 'other'), 2);
  // What the rolled-back appends cached is forgotten: the stream starts again at revision 0.
  t.is((await log.append('new', events(1), 'no_stream')).nextRevision, 0n);
  await log.close();
  tmp.cleanup();
});

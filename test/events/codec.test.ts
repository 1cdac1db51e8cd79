import test from 'ava';
import path from 'node:path';
import { SqliteEventLog } from '../../src/eventlog/sqlite.ts';
import { EVENT_VERSIONS } from '../../src/events/catalogue.ts';
import { decode, encode, metadataFromJson, metadataJson, schemaVersionOf } from '../../src/events/codec.ts';
import { rawEvent } from '../support/raw-events.ts';
import { tempDir } from '../support/tmp.ts';

async function readStream(log: SqliteEventLog, stream: string) {
  const events = [];
  for await (const e of log.readStream(stream)) events.push(e);
  return events;
}

test('the stored metadata is the schema version alone, as earlier builds wrote it, and reads back shared', (t) => {
  t.is(metadataJson(1), '{"schemaVersion":1}');
  t.is(metadataJson(2), '{"schemaVersion":2}');
  const read = metadataFromJson('{"schemaVersion":2}');
  t.deepEqual(read, { schemaVersion: 2 });
  t.is(metadataFromJson('{"schemaVersion":2}'), read, 'one object per text');
  t.true(Object.isFrozen(read));
  t.deepEqual(metadataFromJson(null), {});
});

test('an encoded event goes through the store and decodes as what was encoded, at its type’s version', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const log = new SqliteEventLog(path.join(tmp.dir, 'events.sqlite'));
  t.teardown(() => log.close());
  const data = { path: 'in/é "1".msg', contentHash: 'a'.repeat(64), ingestedAt: '2026-01-01T00:00:00.000Z' };
  const event = encode('ApelFileIngested', data, [data.contentHash]);
  t.is(event.schemaVersion, EVENT_VERSIONS.ApelFileIngested);
  t.is(event.id, encode('ApelFileIngested', { ...data, path: 'elsewhere' }, [data.contentHash]).id);
  await log.append('files', [event]);
  const [stored] = await readStream(log, 'files');
  t.is(schemaVersionOf(stored!), EVENT_VERSIONS.ApelFileIngested);
  t.deepEqual(decode(stored!), { type: 'ApelFileIngested', data });
});

test('a payload is validated when encoded, and a stored version this build cannot read is refused', async (t) => {
  t.throws(() => encode('ApelFileIngested', { path: '', contentHash: 'x', ingestedAt: 'now' }, ['x']), {
    code: 'INVALID_EVENT',
  });
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const log = new SqliteEventLog(path.join(tmp.dir, 'events.sqlite'));
  t.teardown(() => log.close());
  await log.append('files', [rawEvent('ApelFileIngested', {}, undefined, 99), rawEvent('SomethingElse', {})]);
  const [future, unknown] = await readStream(log, 'files');
  t.throws(() => decode(future!), { message: /schema version 99 is not readable/ });
  t.throws(() => decode(unknown!), { message: /unknown event type/ });
});

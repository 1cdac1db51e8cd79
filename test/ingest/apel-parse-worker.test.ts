import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../src/errors.ts';
import { SqliteEventLog } from '../../src/eventlog/sqlite.ts';
import type { IngestResult, PreparedMessage } from '../../src/ingest/apel-service.ts';
import { ingestMany, type MessagePreparer } from '../../src/ingest/ingest-many.ts';
import { prepareInThread } from '../../src/ingest/preparers/in-thread.ts';
import {
  MESSAGES_PER_BATCH,
  prepareOnThreadRunning,
  prepareOnWorkerThread,
} from '../../src/ingest/preparers/worker-thread.ts';
import { tempDir } from '../support/tmp.ts';

const fromDir = (dir: string) =>
  readdirSync(dir)
    .sort()
    .map((name) => ({ name, text: readFileSync(path.join(dir, name), 'utf8') }));
// The demo federation's months, then the hand-made fixtures with their bad records, then the first ones again.
const MESSAGES = [...fromDir('fixtures/demo/apel'), ...fromDir('fixtures/apel')];
const RESENT = [...MESSAGES, ...MESSAGES.slice(0, 3)];
const options = { publisher: 'test', receivedAt: new Date('2026-11-01T00:00:00Z') };

async function storedRows(file: string) {
  const log = new SqliteEventLog(file);
  const rows: unknown[] = [];
  for await (const e of log.readAll()) rows.push([e.position, e.id, e.stream, e.revision, e.type, e.data, e.metadata]);
  await log.close();
  return rows;
}

test('messages parsed on the parser thread store exactly the events parsing on this thread does, in order', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const results: Record<string, IngestResult> = {};
  const names: Record<string, string[]> = {};
  for (const [label, prepare] of [
    ['here', prepareInThread],
    ['thread', prepareOnWorkerThread],
  ] as const) {
    const log = new SqliteEventLog(path.join(tmp.dir, `${label}.sqlite`));
    names[label] = [];
    results[label] = await ingestMany(log, RESENT, {
      ...options,
      prepare,
      groupRecords: 200,
      onIngested: (name) => names[label]!.push(name),
    });
    await log.close();
  }
  t.deepEqual(results['thread'], results['here']);
  t.true(results['here']!.accepted > 1000);
  t.true(results['here']!.rejected > 0, 'the fixtures hold bad records, which are quarantined');
  t.true(results['here']!.unchanged > 0, 'the messages sent again change nothing');
  t.deepEqual(
    names['thread'],
    RESENT.map((m) => m.name),
  );
  t.deepEqual(names['here'], names['thread']);
  const here = await storedRows(path.join(tmp.dir, 'here.sqlite'));
  t.deepEqual(await storedRows(path.join(tmp.dir, 'thread.sqlite')), here);
});

test('an error raised on the parser thread stops the ingest at its message, with its code and location', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const log = new SqliteEventLog(path.join(tmp.dir, 'events.sqlite'));
  t.teardown(() => log.close());
  const own = MESSAGES.filter((m) => m.name.startsWith('CESGA'));
  const other = MESSAGES.find((m) => !m.name.startsWith('CESGA') && m.name.endsWith('.txt'))!;
  const ingested: string[] = [];
  const error = await t.throwsAsync(
    ingestMany(log, [...own, other, ...own], {
      ...options,
      allowedSite: 'CESGA',
      prepare: prepareOnWorkerThread,
      onIngested: (name) => ingested.push(name),
    }),
  );
  t.true(error instanceof UserError);
  t.is((error as UserError).code, 'SITE_MISMATCH');
  t.like((error as UserError).location, { message: other.name, record: 1, field: 'SiteName' });
  t.deepEqual(
    ingested,
    own.map((m) => m.name),
  );
});

test('a parser thread that dies fails the ingest with its exit, after the messages it answered', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const log = new SqliteEventLog(path.join(tmp.dir, 'events.sqlite'));
  t.teardown(() => log.close());
  const ingested: string[] = [];
  const dying = new URL('../support/dying-parse-thread.ts', import.meta.url);
  const error = await t.throwsAsync(
    ingestMany(log, MESSAGES, {
      ...options,
      prepare: (messages, o) => prepareOnThreadRunning(dying, messages, o),
      onIngested: (name) => ingested.push(name),
    }),
  );
  t.regex(error!.message, /APEL parser thread exited \(3\)/);
  // The batches it answered before it died completed, in order; the messages after them were not taken.
  t.true(ingested.length >= MESSAGES_PER_BATCH && ingested.length <= 2 * MESSAGES_PER_BATCH, `${ingested.length}`);
  t.is(ingested.length % MESSAGES_PER_BATCH, 0);
  t.deepEqual(
    ingested,
    MESSAGES.slice(0, ingested.length).map((m) => m.name),
  );
});

test('a message comes back from the parser thread as it is prepared here, whatever its text holds', async (t) => {
  const header = 'APEL-cloud-message: v0.4\n';
  const tricky = [
    { name: 'empty', text: header },
    { name: 'unicode', text: `${header}VMUUID: vm-é\nSiteName: SITÉ/1%\nMachineName: a%%b "q" \\ 💡\n%%\n` },
    {
      name: 'long',
      text: `${header}VMUUID: vm-long\nSiteName: S\nMachineName: ${'x'.repeat(5000)}\n%%\nVMUUID: ok\nSiteName: S\n`,
    },
    { name: 'bytes', text: Buffer.from(`${header}VMUUID: vm-b\nSiteName: S\n`) },
  ];
  const prepared = async (prepare: MessagePreparer) => {
    const out: PreparedMessage[] = [];
    for await (const p of prepare(tricky, options)) out.push(p);
    return out;
  };
  const here = await prepared(prepareInThread);
  t.deepEqual(
    here.map((p) => [p.appends.length, p.quarantined.length]),
    [
      [0, 0],
      [1, 0],
      [1, 2],
      [1, 0],
    ],
  );
  t.deepEqual(await prepared(prepareOnWorkerThread), here);
});

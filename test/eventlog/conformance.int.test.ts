/**
 * One conformance suite for every EventLog adapter (see targets.ts). Stream
 * names carry a per-test namespace so the suite can run on a shared server.
 */
import test, { type ExecutionContext } from 'ava';
import { randomUUID } from 'node:crypto';
import {
  type EventLog,
  type RecordedEvent,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '../../src/eventlog/port.ts';
import { schemaVersionOf } from '../../src/events/codec.ts';
import { rawEvent } from '../support/raw-events.ts';
import { targets, type Target } from './targets.ts';

function ns(): string {
  return `t${randomUUID().replaceAll('-', '').slice(0, 12)}-`;
}

function events(n: number, type = 'TestHappened', extra: Record<string, string> = {}) {
  return Array.from({ length: n }, (_, i) => rawEvent(type, { i, ...extra }));
}

async function collect(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}

async function take(iterable: AsyncIterable<RecordedEvent>, n: number): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  if (n === 0) return out;
  for await (const e of iterable) {
    out.push(e);
    if (out.length === n) break;
  }
  return out;
}

type Body = (t: ExecutionContext, log: EventLog, prefix: string) => Promise<void>;

function conformance(title: string, body: Body) {
  for (const target of targets) register(target, title, body);
}

function register(target: Target, title: string, body: Body) {
  const name = `${target.name}: ${title}`;
  if (target.skip) {
    test.skip(`${name} (skipped: ${target.skip})`, () => {});
    return;
  }
  test.serial(name, async (t) => {
    const { log, cleanup } = await target.open();
    try {
      await body(t, log, ns());
    } finally {
      await cleanup();
    }
  });
}

conformance('expected revision matrix', async (t, log, p) => {
  const s = `${p}matrix`;
  await t.throwsAsync(log.append(s, events(1), 'stream_exists'), { instanceOf: WrongExpectedVersionError });
  await t.throwsAsync(log.append(s, events(1), 0n), { instanceOf: WrongExpectedVersionError });
  const first = await log.append(s, events(2), 'no_stream');
  t.is(first.nextRevision, 1n);
  t.is(first.written, 2);
  const err = await t.throwsAsync(log.append(s, events(1), 'no_stream'), { instanceOf: WrongExpectedVersionError });
  t.is(err?.actual, 1n);
  t.is((await log.append(s, events(1), 'stream_exists')).nextRevision, 2n);
  const wrong = await t.throwsAsync(log.append(s, events(1), 1n), { instanceOf: WrongExpectedVersionError });
  t.is(wrong?.actual, 2n);
  t.is(wrong?.expected, 1n);
  t.is((await log.append(s, events(1), 2n)).nextRevision, 3n);
  t.is((await log.append(s, events(1), 'any')).nextRevision, 4n);
  t.is((await log.append(`${p}fresh`, events(1), 'any')).nextRevision, 0n);
  const stored = await collect(log.readStream(s));
  t.deepEqual(
    stored.map((e) => e.revision),
    [0n, 1n, 2n, 3n, 4n],
  );
});

conformance('a retried append is a no-op returning the original result', async (t, log, p) => {
  const s = `${p}retry`;
  const batch = events(3);
  const first = await log.append(s, batch, 'no_stream');
  const retry = await log.append(s, batch, 'no_stream');
  t.is(retry.nextRevision, first.nextRevision);
  t.is(retry.position, first.position);
  t.is(retry.written, 0);
  const again = await log.append(s, batch, 'any');
  t.is(again.written, 0);
  t.is((await collect(log.readStream(s))).length, 3);
});

conformance(
  'appendMany: a result per append, in order within a stream; a re-send writes nothing',
  async (t, log, p) => {
    const [a, b] = [`${p}many-a`, `${p}many-b`];
    const requests = [
      { stream: a, events: events(2) },
      { stream: b, events: events(1) },
      { stream: a, events: events(1), expected: 1n },
    ];
    const results = await log.appendMany(requests);
    t.deepEqual(
      results.map((r) => [r.written, r.nextRevision]),
      [
        [2, 1n],
        [1, 0n],
        [1, 2n],
      ],
    );
    t.deepEqual(
      (await collect(log.readStream(a))).map((e) => e.id),
      [...requests[0]!.events, ...requests[2]!.events].map((e) => e.id),
    );
    const again = await log.appendMany(requests.map((r) => ({ ...r, expected: 'any' as const })));
    t.deepEqual(
      again.map((r) => [r.written, r.position]),
      results.map((r) => [0, r.position]),
    );
    t.deepEqual(await log.appendMany([]), []);
  },
);

conformance('appendMany rejects when one of its appends is refused', async (t, log, p) => {
  await log.append(`${p}taken`, events(1));
  await t.throwsAsync(
    log.appendMany([
      { stream: `${p}free`, events: events(1) },
      { stream: `${p}taken`, events: events(1), expected: 'no_stream' },
    ]),
    { instanceOf: WrongExpectedVersionError },
  );
  t.is((await collect(log.readStream(`${p}taken`))).length, 1);
});

conformance('two writers racing on one stream: exactly one wins', async (t, log, p) => {
  const s = `${p}race`;
  await log.append(s, events(1), 'no_stream');
  const results = await Promise.allSettled([log.append(s, events(2), 0n), log.append(s, events(2), 0n)]);
  const won = results.filter((r) => r.status === 'fulfilled');
  const lost = results.filter((r) => r.status === 'rejected');
  t.is(won.length, 1);
  t.is(lost.length, 1);
  t.true((lost[0] as PromiseRejectedResult).reason instanceof WrongExpectedVersionError);
  t.is((await collect(log.readStream(s))).length, 3);
});

conformance('$all is in commit order, forwards and backwards, from an inclusive position', async (t, log, p) => {
  const a = `${p}a`;
  const b = `${p}b`;
  await log.append(a, events(2, 'A'));
  await log.append(b, events(3, 'B'));
  await log.append(a, events(1, 'A'));
  const filter = { streamPrefixes: [p] };
  const forwards = await collect(log.readAll({ filter }));
  t.deepEqual(
    forwards.map((e) => e.stream),
    [a, a, b, b, b, a],
  );
  for (let i = 1; i < forwards.length; i++) t.true(forwards[i]!.position > forwards[i - 1]!.position);
  const backwards = await collect(log.readAll({ filter, direction: 'backwards' }));
  t.deepEqual(
    backwards.map((e) => e.id),
    forwards.map((e) => e.id).reverse(),
  );
  const fromThird = await collect(log.readAll({ filter, fromPosition: forwards[2]!.position }));
  t.deepEqual(
    fromThird.map((e) => e.id),
    forwards.slice(2).map((e) => e.id),
  );
  const limited = await collect(log.readAll({ filter, maxCount: 2 }));
  t.is(limited.length, 2);
  t.true((await log.headPosition()) >= forwards[5]!.position);
});

conformance('filters by event type and stream prefix', async (t, log, p) => {
  await log.append(`${p}vm-1`, events(2, 'UsageRecorded'));
  await log.append(`${p}probe-1`, events(2, 'ProbeResult'));
  await log.append(`${p}vm-2`, events(1, 'VmStateChanged'));
  const byType = await collect(
    log.readAll({ filter: { streamPrefixes: [p], eventTypes: ['UsageRecorded', 'VmStateChanged'] } }),
  );
  t.deepEqual(
    byType.map((e) => e.type),
    ['UsageRecorded', 'UsageRecorded', 'VmStateChanged'],
  );
  const byPrefix = await collect(log.readAll({ filter: { streamPrefixes: [`${p}vm-`] } }));
  t.deepEqual(
    byPrefix.map((e) => e.stream),
    [`${p}vm-1`, `${p}vm-1`, `${p}vm-2`],
  );
});

conformance('readStream: revisions, direction, bounds, missing stream', async (t, log, p) => {
  const s = `${p}read`;
  await log.append(s, events(5));
  const back = await collect(log.readStream(s, { direction: 'backwards', maxCount: 2 }));
  t.deepEqual(
    back.map((e) => e.revision),
    [4n, 3n],
  );
  const mid = await collect(log.readStream(s, { fromRevision: 2n, maxCount: 2 }));
  t.deepEqual(
    mid.map((e) => e.data['i']),
    [2, 3],
  );
  await t.throwsAsync(collect(log.readStream(`${p}missing`)), { instanceOf: StreamNotFoundError });
});

conformance('subscription catches up, resumes with no gap and no duplicate, then goes live', async (t, log, p) => {
  const s = `${p}sub`;
  const filter = { streamPrefixes: [p] };
  await log.append(s, events(10));
  const first = log.subscribe({ filter });
  const seen = await take(first, 4);
  await first.stop();
  const resumed = log.subscribe({ filter, afterPosition: seen[3]!.position });
  const rest = take(resumed, 8);
  await log.append(s, events(2, 'Late'));
  const tail = await rest;
  await resumed.stop();
  const all = [...seen, ...tail];
  t.deepEqual(
    all.map((e) => e.revision),
    Array.from({ length: 12 }, (_, i) => BigInt(i)),
  );
  t.deepEqual(
    tail.slice(-2).map((e) => e.type),
    ['Late', 'Late'],
  );
});

conformance('subscription filters by type while live', async (t, log, p) => {
  const sub = log.subscribe({ filter: { streamPrefixes: [p], eventTypes: ['Wanted'] } });
  const got = take(sub, 2);
  await log.append(`${p}x`, events(3, 'Unwanted'));
  await log.append(`${p}y`, events(2, 'Wanted'));
  const received = await got;
  await sub.stop();
  t.deepEqual(
    received.map((e) => e.stream),
    [`${p}y`, `${p}y`],
  );
});

conformance('a large batch (3000 events, ~3 MiB) appends whole and in order', async (t, log, p) => {
  const s = `${p}large`;
  const padding = 'x'.repeat(1000);
  const batch = events(3000, 'Big', { padding });
  const result = await log.append(s, batch, 'no_stream');
  t.is(result.nextRevision, 2999n);
  const stored = await collect(log.readStream(s));
  t.is(stored.length, 3000);
  t.deepEqual(
    stored.map((e) => e.id),
    batch.map((e) => e.id),
  );
  t.is(stored[2999]!.data['padding'], padding);
});

conformance('data and schema version round-trip', async (t, log, p) => {
  const s = `${p}meta`;
  const data = { text: 'héllo %% ünïcode', n: 1.5, nested: { list: [1, null, 'x'] } };
  const event = rawEvent('WithSchemaVersion', data, randomUUID(), 3);
  await log.append(s, [event]);
  const [stored] = await collect(log.readStream(s));
  t.is(stored!.id, event.id);
  t.is(stored!.type, 'WithSchemaVersion');
  t.deepEqual(stored!.data, data);
  t.is(schemaVersionOf(stored!), 3);
  t.true(stored!.created instanceof Date);
});

conformance('stream names with unusual characters', async (t, log, p) => {
  const names = [`${p}vm-Ökö 1+0200`, `${p}a%b_c`, `${p}slash/and:colon`, `${p}quote'"`];
  for (const name of names) await log.append(name, events(1));
  for (const name of names) {
    const [e] = await collect(log.readStream(name));
    t.is(e!.stream, name);
  }
  const literal = await collect(log.readAll({ filter: { streamPrefixes: [`${p}a%`] } }));
  t.deepEqual(
    literal.map((e) => e.stream),
    [`${p}a%b_c`],
  );
});

conformance('an event id that is not a UUID is refused, and nothing of the append is written', async (t, log, p) => {
  const s = `${p}bad-id`;
  const error = await t.throwsAsync(log.append(s, [...events(1), rawEvent('TestHappened', {}, 'record-17')]));
  t.like(error, { code: 'INVALID_EVENT_ID' });
  t.regex(error!.message, /"record-17" is not a UUID/);
  await t.throwsAsync(collect(log.readStream(s)), { instanceOf: StreamNotFoundError });
});

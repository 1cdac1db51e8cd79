/**
 * What the shared conformance suite cannot reach: the EventStoreDB adapter
 * while the server is down, late or restarting, the older Append RPC, the
 * `checkpoint + 1n` idiom on byte-offset positions, and the stand-in's own
 * server rules (append limit, idempotent repeats) that the adapter relies on.
 * Serial: client 6.x keeps BatchAppend callbacks in one map per process, so a
 * client that disposes or loses its stream fails other clients' appends.
 */
import test from 'ava';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { EventStoreDBClient, MaxAppendSizeExceededError, jsonEvent } from '@eventstore/db-client';
import { EsdbEventLog, type EsdbRetryOptions } from '../../src/eventlog/esdb.ts';
import { EventLogUnavailableError, type RecordedEvent, WrongExpectedVersionError } from '../../src/eventlog/port.ts';
import { ANY, NO_STREAM, StandInLog } from '../support/esdb-standin/log.ts';
import { rawEvent } from '../support/raw-events.ts';
import { startStandIn } from '../support/esdb-standin/index.ts';

const quick: EsdbRetryOptions = { retries: 40, initialBackoffMs: 20, maxBackoffMs: 100 };

function events(n: number, type = 'TestHappened') {
  return Array.from({ length: n }, (_, i) => rawEvent(type, { i }));
}

async function collect(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}

/** A port nothing listens on (until a stand-in is started there). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test.serial('connect waits for a server that starts late', async (t) => {
  const port = await freePort();
  const connecting = EsdbEventLog.connect(`esdb://127.0.0.1:${port}?tls=false`, quick);
  await delay(300);
  const server = await startStandIn({ port });
  const log = await connecting;
  try {
    t.is((await log.append('late', events(1), 'no_stream')).nextRevision, 0n);
  } finally {
    await log.close();
    await server.stop();
  }
});

test.serial('gives up with EventLogUnavailableError after bounded retries', async (t) => {
  const port = await freePort();
  const error = await t.throwsAsync(
    EsdbEventLog.connect(`esdb://127.0.0.1:${port}?tls=false`, { retries: 2, initialBackoffMs: 10 }),
    { instanceOf: EventLogUnavailableError },
  );
  t.is(error?.code, 'EVENTLOG_UNAVAILABLE');
  t.regex(error!.message, /gave up after 3 attempts/);
});

test.serial('an append made while the server restarts lands once', async (t) => {
  const first = await startStandIn();
  const log = await EsdbEventLog.connect(first.url, quick);
  await log.append('restart', events(1), 'no_stream');
  await first.stop();
  const batch = events(2);
  const appending = log.append('restart', batch, 0n);
  await delay(200);
  const second = await startStandIn({ port: first.port, log: first.log });
  try {
    const result = await appending;
    t.is(result.nextRevision, 2n);
    t.is(result.written, 2);
    t.deepEqual(
      (await collect(log.readStream('restart'))).map((e) => e.revision),
      [0n, 1n, 2n],
    );
  } finally {
    await log.close();
    await second.stop();
  }
});

test.serial('a subscription resumes across a server restart with no gap and no duplicate', async (t) => {
  const first = await startStandIn();
  const log = await EsdbEventLog.connect(first.url, quick);
  const subscription = log.subscribe({ filter: { streamPrefixes: ['sub-'] } });
  const iterator = subscription[Symbol.asyncIterator]();
  const seen: RecordedEvent[] = [];
  await log.append('sub-a', events(3));
  for (let i = 0; i < 3; i++) seen.push((await iterator.next()).value as RecordedEvent);
  await first.stop();
  const second = await startStandIn({ port: first.port, log: first.log });
  try {
    await log.append('sub-a', events(2));
    for (let i = 0; i < 2; i++) seen.push((await iterator.next()).value as RecordedEvent);
    t.deepEqual(
      seen.map((e) => e.revision),
      [0n, 1n, 2n, 3n, 4n],
    );
    const pending = iterator.next();
    await subscription.stop();
    t.true((await pending).done);
  } finally {
    await log.close();
    await second.stop();
  }
});

test.serial('calls on a server that stays down fail with EventLogUnavailableError', async (t) => {
  const server = await startStandIn();
  const log = await EsdbEventLog.connect(server.url, { retries: 2, initialBackoffMs: 10 });
  await server.stop();
  try {
    await t.throwsAsync(log.append('down', events(1)), { instanceOf: EventLogUnavailableError });
    await t.throwsAsync(collect(log.readAll()), { instanceOf: EventLogUnavailableError });
    await t.throwsAsync(collect(log.subscribe()), { instanceOf: EventLogUnavailableError });
  } finally {
    await log.close();
  }
});

test.serial('readAll from one past an event (the checkpoint + 1n idiom) reads after it, both ways', async (t) => {
  const server = await startStandIn();
  const log = await EsdbEventLog.connect(server.url, quick);
  try {
    await log.append('idiom', events(4));
    const all = await collect(log.readAll());
    t.is(all.length, 4);
    const after = await collect(log.readAll({ fromPosition: all[1]!.position + 1n }));
    t.deepEqual(
      after.map((e) => e.revision),
      [2n, 3n],
    );
    const backwards = await collect(log.readAll({ direction: 'backwards', fromPosition: all[1]!.position + 1n }));
    t.deepEqual(
      backwards.map((e) => e.revision),
      [1n, 0n],
    );
    t.deepEqual(await collect(log.readAll({ fromPosition: all[3]!.position + 1n })), []);
  } finally {
    await log.close();
    await server.stop();
  }
});

test.serial('a fresh node has only system events, which never come out', async (t) => {
  const server = await startStandIn();
  const log = await EsdbEventLog.connect(server.url, quick);
  try {
    t.true(server.log.length > 0);
    t.is(await log.headPosition(), -1n);
    t.deepEqual(await collect(log.readAll()), []);
    t.deepEqual(await collect(log.readAll({ direction: 'backwards' })), []);
  } finally {
    await log.close();
    await server.stop();
  }
});

test.serial('servers without BatchAppend: the adapter works over Append', async (t) => {
  const server = await startStandIn({ batchAppend: false });
  const log = await EsdbEventLog.connect(server.url, quick);
  try {
    const batch = events(2);
    t.is((await log.append('plain', batch, 'no_stream')).written, 2);
    t.is((await log.append('plain', batch, 'no_stream')).written, 0);
    const wrong = await t.throwsAsync(log.append('plain', events(1), 0n), { instanceOf: WrongExpectedVersionError });
    t.is(wrong?.actual, 1n);
    const big = Array.from({ length: 1500 }, (_, i) => rawEvent('Big', { i, pad: 'x'.repeat(1000) }));
    t.is((await log.append('plain-big', big, 'no_stream')).nextRevision, 1499n);
  } finally {
    await log.close();
    await server.stop();
  }
});

test.serial('the stand-in refuses appends over 1 MiB, on both append RPCs', async (t) => {
  for (const batchAppend of [true, false]) {
    const server = await startStandIn({ batchAppend });
    const client = EventStoreDBClient.connectionString(server.url);
    try {
      const big = Array.from({ length: 1200 }, () => jsonEvent({ type: 'Big', data: { pad: 'x'.repeat(1000) } }));
      await t.throwsAsync(client.appendToStream('too-big', big), { instanceOf: MaxAppendSizeExceededError });
    } finally {
      await client.dispose();
      await server.stop();
    }
  }
});

test.serial('the stand-in recognises repeats as the server does', (t) => {
  const log = new StandInLog(3);
  const proposed = (n: number) =>
    Array.from({ length: n }, () => ({
      id: randomUUID(),
      type: 'T',
      contentType: 'application/json',
      data: new Uint8Array(),
      metadata: new Uint8Array(),
    }));
  const batch = proposed(2);
  const first = log.append('s', NO_STREAM, batch);
  t.like(first, { kind: 'success', current: 1n });
  // Same ids at the same expected version: success, nothing written, the original reported.
  t.deepEqual(log.append('s', NO_STREAM, batch), first);
  t.deepEqual(log.append('s', ANY, batch), first);
  // Only part of a repeat: refused.
  t.like(log.append('s', NO_STREAM, [batch[0]!, ...proposed(1)]), { kind: 'wrong_expected_version', current: 1n });
  // With `any`, repeats are only known while their ids are in the bounded cache.
  log.append('other', ANY, proposed(3));
  t.like(log.append('s', ANY, batch), { kind: 'success', current: 3n });
});

test.serial('the adapter drops repeats the server no longer recognises', async (t) => {
  const server = await startStandIn({ log: new StandInLog(3) });
  const log = await EsdbEventLog.connect(server.url, quick);
  try {
    const batch = events(2);
    await log.append('evicted', batch, 'any');
    await log.append('elsewhere', events(3), 'any');
    const again = await log.append('evicted', batch, 'any');
    t.like(again, { nextRevision: 1n, written: 0 });
    t.is((await collect(log.readStream('evicted'))).length, 2);
  } finally {
    await log.close();
    await server.stop();
  }
});

test.serial('close ends live subscriptions and refuses further calls', async (t) => {
  const server = await startStandIn();
  const log = await EsdbEventLog.connect(server.url, quick);
  try {
    const iterator = log.subscribe()[Symbol.asyncIterator]();
    await log.append('closing', events(1));
    t.is(((await iterator.next()).value as RecordedEvent).stream, 'closing');
    const pending = iterator.next();
    await log.close();
    t.true((await pending).done);
    await t.throwsAsync(log.append('closing', events(1)), { code: 'EVENTLOG_CLOSED' });
  } finally {
    await server.stop();
  }
});

test.serial('a malformed connection string is a user error', async (t) => {
  await t.throwsAsync(EsdbEventLog.connect('http://nowhere'), { code: 'EVENTSTORE_INVALID_URL' });
});

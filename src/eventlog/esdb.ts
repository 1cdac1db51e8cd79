/**
 * The EventStoreDB adapter, over gRPC with @eventstore/db-client 6.x. How it
 * maps the port, and what it cannot promise, is in docs/eventstoredb.md:
 *
 * - Positions are the events' commit positions. Every event a gRPC append
 *   writes is its own log record, so its commit and prepare positions are the
 *   same offset; a position is resumed from as {commit: p, prepare: p}.
 * - $all can only be read from a record's start. A forward read from p tries
 *   p (inclusive) and, if the server calls it an invalid position, p - 1 with
 *   the event there skipped: the `checkpoint + 1n` idiom for "after".
 * - System events ($-types, $-streams) are never returned. Filters go to the
 *   server: event types as one regex, else stream prefixes; whatever the
 *   server cannot check is checked here too.
 * - EventStoreDB only deduplicates some retries, so an append first reads the
 *   stream's last TAIL_WINDOW events and drops ids already there. That check
 *   and the append are not atomic. Appends go out in chunks well under the
 *   server's 1 MiB append limit, so a large batch is not atomic either.
 * - While the server is unavailable, calls retry with exponential backoff,
 *   then fail with EventLogUnavailableError.
 */
import { createRequire } from 'node:module';
import {
  ANY,
  BACKWARDS,
  CancelledError,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  NotLeaderError,
  START,
  STREAM_EXISTS,
  StreamNotFoundError as ClientStreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError as ClientWrongExpectedVersionError,
  convertToCommandError,
  eventTypeFilter,
  isCommandError,
  jsonEvent,
  streamNameFilter,
  type AppendExpectedRevision,
  type Filter,
  type ReadPosition,
  type ResolvedEvent,
  type StreamingRead,
} from '@eventstore/db-client';
import type * as StreamsPb from '@eventstore/db-client/generated/streams_pb.js';
import type * as StreamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb.js';
import type * as SharedPb from '@eventstore/db-client/generated/shared_pb.js';
import { FedledgerError, UserError } from '../errors.ts';
import { type EncodedEvent, metadataJson } from '../events/codec.ts';
import {
  type AppendRequest,
  type AppendResult,
  type EventFilter,
  type EventLog,
  EventLogUnavailableError,
  checkEventIds,
  type ExpectedRevision,
  type JsonObject,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
  type Subscription,
  StreamNotFoundError,
  WrongExpectedVersionError,
  matchesFilter,
} from './port.ts';

/** How far back an append looks for ids it was already given. */
const TAIL_WINDOW = 4096;
/** Serialized bytes per gRPC append; the server refuses appends over 1 MiB. */
const CHUNK_BYTES = 512 * 1024;
/** Per-event bytes on top of data and metadata (id, type, protobuf framing), for chunking. */
const EVENT_OVERHEAD = 128;
/** What the server reports as the position of an event read from a stream before 22.10. */
const NO_POSITION = 2n ** 64n - 1n;
/** A backward read from at or past this starts at the end (the SQLite store's default start). */
const LAST_POSSIBLE_POSITION = 2n ** 63n - 1n;
const GRPC_INVALID_ARGUMENT = 3;

// The client's own message classes and service client: its calls only serialize instances of these.
const requireHere = createRequire(import.meta.url);
const streamsPb = requireHere('@eventstore/db-client/generated/streams_pb.js') as typeof StreamsPb;
const sharedPb = requireHere('@eventstore/db-client/generated/shared_pb.js') as typeof SharedPb;
const { StreamsClient } = requireHere('@eventstore/db-client/generated/streams_grpc_pb.js') as typeof StreamsGrpc;

export interface EsdbRetryOptions {
  /** Retries after the first failed attempt (default 8). */
  retries?: number;
  /** First backoff, doubled per retry (default 100 ms). */
  initialBackoffMs?: number;
  /** Longest backoff (default 5 s). */
  maxBackoffMs?: number;
}

/** Failures of the EventStoreDB adapter that are not part of the port's own vocabulary. */
export class EventStoreError extends FedledgerError {
  constructor(
    code: string,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(code, message);
  }
}

/** The server-side half of a port filter: EventStoreDB filters on one field per read. */
interface ServerFilter {
  on: 'type' | 'stream';
  regex?: string;
  prefixes?: string[];
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Event types go to the server as an exact-match regex (which also keeps
 * $-types out); else stream prefixes; else a regex that only keeps out
 * $-types. The rest is checked client-side by `keep`.
 */
function serverFilter(filter: EventFilter | undefined): ServerFilter {
  const types = filter?.eventTypes ?? [];
  if (types.length > 0) {
    const user = types.filter((t) => !t.startsWith('$'));
    return { on: 'type', regex: user.length ? `^(?:${user.map(escapeRegex).join('|')})$` : '(?!)' };
  }
  const prefixes = filter?.streamPrefixes ?? [];
  if (prefixes.length > 0) return { on: 'stream', prefixes: [...prefixes] };
  return { on: 'type', regex: '^[^$]' };
}

function clientFilter(filter: EventFilter | undefined): Filter {
  const server = serverFilter(filter);
  if (server.on === 'stream') return streamNameFilter({ prefixes: server.prefixes! });
  return eventTypeFilter({ regex: server.regex! });
}

function keep(filter: EventFilter | undefined, event: RecordedEvent): boolean {
  return (
    !event.type.startsWith('$') && !event.stream.startsWith('$') && matchesFilter(filter, event.stream, event.type)
  );
}

function parseJson(bytes: Uint8Array, what: string, id: string): JsonObject {
  if (bytes.length === 0) return {};
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as JsonObject;
  } catch (error) {
    throw new EventStoreError('EVENTSTORE_NOT_JSON', `the ${what} of event ${id} is not JSON`, error);
  }
}

function positionOf(commit: bigint | undefined): bigint {
  return commit === undefined || commit === NO_POSITION ? -1n : commit;
}

/** An event as the client's stream reads and subscriptions deliver it. */
function fromResolved(resolved: ResolvedEvent): RecordedEvent | undefined {
  const e = resolved.event;
  if (!e) return undefined;
  const data = e.data instanceof Uint8Array ? parseJson(e.data, 'data', e.id) : (e.data as JsonObject);
  const metadata =
    e.metadata === undefined
      ? {}
      : e.metadata instanceof Uint8Array
        ? parseJson(e.metadata, 'metadata', e.id)
        : e.metadata;
  return {
    id: e.id,
    type: e.type,
    stream: e.streamId,
    revision: e.revision,
    position: positionOf(e.position?.commit),
    data,
    metadata: metadata as JsonObject,
    created: e.created,
  };
}

/** An event as a raw Read response carries it. */
function fromWire(recorded: StreamsPb.ReadResp.ReadEvent.RecordedEvent): RecordedEvent {
  const id = recorded.getId()!.getString();
  const metadata = recorded.getMetadataMap();
  return {
    id,
    type: metadata.get('type') ?? '',
    stream: Buffer.from(recorded.getStreamIdentifier()!.getStreamName_asU8()).toString('utf8'),
    revision: BigInt(recorded.getStreamRevision()),
    position: positionOf(BigInt(recorded.getCommitPosition())),
    data: parseJson(recorded.getData_asU8(), 'data', id),
    metadata: parseJson(recorded.getCustomMetadata_asU8(), 'metadata', id),
    // `created` is in .NET ticks (100 ns) since the Unix epoch.
    created: new Date(Number(BigInt(metadata.get('created') ?? '0') / 10_000n)),
  };
}

function toClientExpected(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return expected;
  }
}

function eventSize(event: EncodedEvent): number {
  return (
    Buffer.byteLength(event.dataJson) +
    Buffer.byteLength(metadataJson(event.schemaVersion)) +
    Buffer.byteLength(event.type) +
    EVENT_OVERHEAD
  );
}

function* chunks(events: readonly EncodedEvent[]): Generator<EncodedEvent[]> {
  let chunk: EncodedEvent[] = [];
  let size = 0;
  for (const event of events) {
    const bytes = eventSize(event);
    if (chunk.length > 0 && size + bytes > CHUNK_BYTES) {
      yield chunk;
      chunk = [];
      size = 0;
    }
    chunk.push(event);
    size += bytes;
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * A client read that is cancelled when the loop over it stops early:
 * otherwise its call never finishes and `dispose` waits for it forever.
 */
async function* cancelling<E>(read: StreamingRead<E>): AsyncGenerator<E> {
  try {
    yield* read as AsyncIterable<E>;
  } finally {
    await read.cancel();
  }
}

function isUnavailable(error: unknown): boolean {
  const converted = error instanceof Error ? convertToCommandError(error) : error;
  return (
    converted instanceof UnavailableError || converted instanceof CancelledError || converted instanceof NotLeaderError
  );
}

/** Client errors become coded ones; the port's own errors and anything unexpected pass through. */
function coded(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof FedledgerError) return error;
  const converted = convertToCommandError(error);
  if (!isCommandError(converted)) return error;
  // The client has no type for INVALID_ARGUMENT, which is how the server refuses a position.
  const kind = converted.code === GRPC_INVALID_ARGUMENT ? 'invalid-argument' : converted.type;
  return new EventStoreError(
    `EVENTSTORE_${kind.toUpperCase().replaceAll('-', '_')}`,
    `EventStoreDB: ${converted.message}`,
    converted,
  );
}

function isInvalidPosition(error: unknown): boolean {
  return error instanceof EventStoreError && error.code === 'EVENTSTORE_INVALID_ARGUMENT';
}

function atPosition(position: bigint): ReadPosition {
  return { commit: position, prepare: position };
}

/**
 * Reaches the client's protected gRPC plumbing, the way the client's own
 * methods do, for a filtered read of $all: the protocol and the server have
 * it, client 6.x only exposes filters on subscriptions. The call rides the
 * client's channel, credentials, reconnection and leader handling.
 */
class ProtocolAccess extends EventStoreDBClient {
  static read(client: EventStoreDBClient, request: StreamsPb.ReadReq) {
    const self = client as ProtocolAccess;
    return self.GRPCStreamCreator(StreamsClient, 'readAll', (grpcClient) =>
      grpcClient.read(request, ...self.callArguments({}, { deadline: Infinity })),
    )();
  }
}

function readAllRequest(from: 'start' | 'end' | bigint, backwards: boolean, filter: ServerFilter): StreamsPb.ReadReq {
  const { Options } = streamsPb.ReadReq;
  const all = new Options.AllOptions();
  if (from === 'start') all.setStart(new sharedPb.Empty());
  else if (from === 'end') all.setEnd(new sharedPb.Empty());
  else all.setPosition(new Options.Position().setCommitPosition(from.toString()).setPreparePosition(from.toString()));
  const expression = new Options.FilterOptions.Expression();
  if (filter.regex) expression.setRegex(filter.regex);
  else expression.setPrefixList(filter.prefixes ?? []);
  const filterOptions = new Options.FilterOptions().setCount(new sharedPb.Empty()).setCheckpointintervalmultiplier(1);
  if (filter.on === 'type') filterOptions.setEventType(expression);
  else filterOptions.setStreamIdentifier(expression);
  const options = new Options()
    .setAll(all)
    .setReadDirection(backwards ? Options.ReadDirection.BACKWARDS : Options.ReadDirection.FORWARDS)
    .setResolveLinks(false)
    .setCount(String(Number.MAX_SAFE_INTEGER))
    .setFilter(filterOptions)
    .setUuidOption(new Options.UUIDOption().setString(new sharedPb.Empty()));
  return new streamsPb.ReadReq().setOptions(options);
}

export class EsdbEventLog implements EventLog {
  readonly kind = 'eventstoredb' as const;
  private closed = false;
  /** Stops of the subscriptions still open, ended by `close`. */
  private readonly live = new Set<() => Promise<void>>();
  private readonly retries: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;

  private constructor(
    private readonly client: EventStoreDBClient,
    retry: EsdbRetryOptions,
  ) {
    this.retries = retry.retries ?? 8;
    this.initialBackoffMs = retry.initialBackoffMs ?? 100;
    this.maxBackoffMs = retry.maxBackoffMs ?? 5000;
  }

  /** Connects and waits (with the usual retries) until the server answers a read. */
  static async connect(url: string, retry: EsdbRetryOptions = {}): Promise<EsdbEventLog> {
    let client: EventStoreDBClient;
    try {
      client = EventStoreDBClient.connectionString(url);
    } catch (error) {
      throw new UserError(
        'EVENTSTORE_INVALID_URL',
        `invalid EventStoreDB connection string: ${(error as Error).message}`,
      );
    }
    const log = new EsdbEventLog(client, retry);
    try {
      await log.headPosition();
    } catch (error) {
      await log.close();
      throw error;
    }
    return log;
  }

  /** Rethrows what retrying cannot help; else waits out the backoff for retry number `failures`. */
  private async afterFailure(error: unknown, failures: number, what: string): Promise<void> {
    if (!isUnavailable(error)) throw coded(error);
    if (failures >= this.retries) {
      throw new EventLogUnavailableError(
        `${what}: EventStoreDB is unavailable (gave up after ${failures + 1} attempts)`,
        error,
      );
    }
    const wait = Math.min(this.initialBackoffMs * 2 ** failures, this.maxBackoffMs);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }

  private async retrying<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    for (let failures = 0; ; failures++) {
      this.assertOpen();
      try {
        return await attempt();
      } catch (error) {
        await this.afterFailure(error, failures, what);
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new EventStoreError('EVENTLOG_CLOSED', 'event log is closed');
  }

  /** Appends to different streams go out together; those to one stream wait for the one before. */
  appendMany(appends: readonly AppendRequest[]): Promise<AppendResult[]> {
    const lastOf = new Map<string, Promise<unknown>>();
    return Promise.all(
      appends.map(({ stream, events, expected }) => {
        const result = (lastOf.get(stream) ?? Promise.resolve()).then(() => this.append(stream, events, expected));
        lastOf.set(
          stream,
          result.catch(() => undefined),
        );
        return result;
      }),
    );
  }

  async append(
    stream: string,
    events: readonly EncodedEvent[],
    expected: ExpectedRevision = 'any',
  ): Promise<AppendResult> {
    checkEventIds(events);
    const unique = [...new Map(events.map((e) => [e.id, e])).values()];
    // Ids stored before this call, as first seen: the rest count as written even if an earlier attempt wrote them.
    let preexisting: Set<string> | undefined;
    return this.retrying(`append to ${JSON.stringify(stream)}`, async () => {
      const tail = await this.readTail(stream);
      preexisting ??= new Set(unique.filter((e) => tail.stored.has(e.id)).map((e) => e.id));
      const fresh = unique.filter((e) => !tail.stored.has(e.id));
      if (fresh.length === 0) return this.alreadyStored(stream, unique, tail, expected);

      let next = toClientExpected(this.resumeExpected(unique, tail.stored, expected));
      let position: bigint | undefined;
      try {
        for (const chunk of chunks(fresh)) {
          const result = await this.client.appendToStream(
            stream,
            // The client writes JSON events from objects: the encoded texts are parsed back for it.
            chunk.map((e) =>
              jsonEvent({
                id: e.id,
                type: e.type,
                data: JSON.parse(e.dataJson) as JsonObject,
                metadata: JSON.parse(metadataJson(e.schemaVersion)) as JsonObject,
              }),
            ),
            { expectedRevision: next },
          );
          next = result.nextExpectedRevision;
          position = result.position?.commit;
        }
      } catch (error) {
        if (error instanceof ClientWrongExpectedVersionError) {
          throw new WrongExpectedVersionError(
            stream,
            expected,
            error.actualVersion === 'no_stream' ? 'no_stream' : BigInt(error.actualVersion),
          );
        }
        throw error;
      }
      const revision = next as bigint;
      return {
        nextRevision: revision,
        // Without a position the server took the chunk for a repeat; ask where that event is.
        position: position ?? (await this.positionOfRevision(stream, revision)),
        written: unique.filter((e) => !preexisting!.has(e.id)).length,
      };
    });
  }

  /** The result for a batch whose every event is already in the stream (or an empty batch). */
  private alreadyStored(
    stream: string,
    unique: readonly EncodedEvent[],
    tail: Tail,
    expected: ExpectedRevision,
  ): AppendResult {
    if (unique.length === 0) {
      const matches =
        expected === 'any' ||
        (expected === 'no_stream'
          ? tail.last === undefined
          : expected === 'stream_exists'
            ? tail.last !== undefined
            : tail.last === expected);
      if (!matches) throw new WrongExpectedVersionError(stream, expected, tail.last ?? 'no_stream');
      return { nextRevision: tail.last ?? -1n, position: tail.lastPosition ?? -1n, written: 0 };
    }
    let position = -1n;
    for (const e of unique) {
      const p = tail.stored.get(e.id)!.position;
      if (p > position) position = p;
    }
    return { nextRevision: tail.last!, position, written: 0 };
  }

  /**
   * When a retry finds the head of its batch already written right after the
   * revision it expected (an earlier attempt got that far), the rest goes
   * after those events; anything else is left for the server to judge.
   */
  private resumeExpected(
    unique: readonly EncodedEvent[],
    stored: Map<string, StoredAt>,
    expected: ExpectedRevision,
  ): ExpectedRevision {
    if (typeof expected !== 'bigint' && expected !== 'no_stream') return expected;
    let revision = expected === 'no_stream' ? -1n : expected;
    for (const e of unique) {
      const at = stored.get(e.id);
      if (!at || at.revision !== revision + 1n) break;
      revision += 1n;
    }
    return revision === (expected === 'no_stream' ? -1n : expected) ? expected : revision;
  }

  private async readTail(stream: string): Promise<Tail> {
    const stored = new Map<string, StoredAt>();
    let last: bigint | undefined;
    let lastPosition: bigint | undefined;
    try {
      const read = this.client.readStream(stream, { direction: BACKWARDS, fromRevision: END, maxCount: TAIL_WINDOW });
      for await (const resolved of cancelling(read)) {
        const event = resolved.event;
        if (!event) continue;
        if (last === undefined) {
          last = event.revision;
          lastPosition = positionOf(event.position?.commit);
        }
        stored.set(event.id, { revision: event.revision, position: positionOf(event.position?.commit) });
      }
    } catch (error) {
      if (!(error instanceof ClientStreamNotFoundError)) throw error;
    }
    return { last, lastPosition, stored };
  }

  private async positionOfRevision(stream: string, revision: bigint): Promise<bigint> {
    for await (const resolved of cancelling(this.client.readStream(stream, { fromRevision: revision, maxCount: 1 }))) {
      return positionOf(resolved.event?.position?.commit);
    }
    return -1n;
  }

  async *readStream(stream: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    const backwards = options.direction === 'backwards';
    let remaining = options.maxCount ?? Infinity;
    let from: bigint | typeof START | typeof END = options.fromRevision ?? (backwards ? END : START);
    for (let failures = 0; remaining > 0; failures++) {
      this.assertOpen();
      try {
        const read = this.client.readStream(stream, {
          direction: backwards ? BACKWARDS : FORWARDS,
          fromRevision: from,
          ...(remaining !== Infinity ? { maxCount: remaining } : {}),
        });
        for await (const resolved of cancelling(read)) {
          const event = fromResolved(resolved as ResolvedEvent);
          if (!event) continue;
          failures = 0;
          remaining -= 1;
          from = event.revision + (backwards ? -1n : 1n);
          yield event;
          if (remaining === 0 || from < 0n) return;
        }
        return;
      } catch (error) {
        if (error instanceof ClientStreamNotFoundError) throw new StreamNotFoundError(stream);
        await this.afterFailure(error, failures, `read of ${JSON.stringify(stream)}`);
      }
    }
  }

  async *readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    const backwards = options.direction === 'backwards';
    const filter = options.filter;
    let remaining = options.maxCount ?? Infinity;
    if (remaining <= 0) return;
    const requested = options.fromPosition;

    if (backwards) {
      let from: bigint | 'end' = requested === undefined || requested >= LAST_POSSIBLE_POSITION ? 'end' : requested;
      if (from !== 'end') {
        // Backward reads exclude their start; the event at the start is fetched on its own.
        const start = await this.eventAtOrBefore(from);
        if (!start) return;
        if (start.event && keep(filter, start.event)) {
          yield start.event;
          if (--remaining === 0) return;
        }
        from = start.boundary;
      }
      for await (const event of this.readAllFrom(from, true, filter, () => false)) {
        yield event;
        if (--remaining === 0) return;
      }
      return;
    }

    if (requested === undefined || requested <= 0n) {
      for await (const event of this.readAllFrom('start', false, filter, () => false)) {
        yield event;
        if (--remaining === 0) return;
      }
      return;
    }
    // `requested` may be a record start (read it as is) or one past an event (the "after" idiom).
    let reads = this.readAllFrom(requested, false, filter, () => false);
    let delivered = false;
    try {
      for await (const event of reads) {
        delivered = true;
        yield event;
        if (--remaining === 0) return;
      }
      return;
    } catch (error) {
      if (delivered || !isInvalidPosition(error)) throw error;
    }
    reads = this.readAllFrom(requested - 1n, false, filter, (p) => p < requested);
    try {
      for await (const event of reads) {
        yield event;
        if (--remaining === 0) return;
      }
    } catch (error) {
      if (!isInvalidPosition(error)) throw error;
      throw new EventStoreError(
        'EVENTSTORE_INVALID_POSITION',
        `no event starts at or right after position ${requested}`,
        error,
      );
    }
  }

  /**
   * The event at `position`, if one starts there, and a position to read
   * backwards from (exclusive) for the ones before it. Also takes one past
   * an event, like forward reads.
   */
  private async eventAtOrBefore(position: bigint): Promise<{ event?: RecordedEvent; boundary: bigint } | undefined> {
    for (const boundary of [position, position - 1n]) {
      if (boundary < 0n) return undefined;
      try {
        const first = await this.retrying('read of $all', async () => {
          const read = this.client.readAll({ fromPosition: atPosition(boundary), maxCount: 1 });
          for await (const resolved of cancelling(read)) {
            return fromResolved(resolved as ResolvedEvent);
          }
          return undefined;
        });
        return first?.position === boundary ? { event: first, boundary } : { boundary };
      } catch (error) {
        if (!isInvalidPosition(error)) throw error;
      }
    }
    throw new EventStoreError('EVENTSTORE_INVALID_POSITION', `no event starts at or right before position ${position}`);
  }

  /**
   * $all from a record boundary, filtered, resuming after the last event seen
   * when the connection drops; `skip` drops events before the caller's start.
   */
  private async *readAllFrom(
    start: 'start' | 'end' | bigint,
    backwards: boolean,
    filter: EventFilter | undefined,
    skip: (position: bigint) => boolean,
  ): AsyncGenerator<RecordedEvent> {
    const server = serverFilter(filter);
    let from = start;
    let last: bigint | undefined;
    for (let failures = 0; ; failures++) {
      this.assertOpen();
      let call: Awaited<ReturnType<typeof ProtocolAccess.read>> | undefined;
      try {
        call = await ProtocolAccess.read(this.client, readAllRequest(from, backwards, server));
        for await (const response of call as AsyncIterable<StreamsPb.ReadResp>) {
          const recorded = response.getEvent()?.getEvent();
          if (!recorded) continue;
          failures = 0;
          const event = fromWire(recorded);
          // A forward resume starts at the last event seen, which was already handled.
          if (last !== undefined && !backwards && event.position <= last) continue;
          last = event.position;
          if (skip(event.position) || !keep(filter, event)) continue;
          yield event;
        }
        return;
      } catch (error) {
        await this.afterFailure(error, failures, 'read of $all');
        if (last !== undefined) from = last;
      } finally {
        call?.cancel();
      }
    }
  }

  subscribe(options: SubscribeOptions = {}): Subscription {
    const filter = options.filter;
    let after = options.afterPosition;
    let stopped = false;
    let wakeOnStop!: () => void;
    const stopping = new Promise<'stopped'>((resolve) => (wakeOnStop = () => resolve('stopped')));
    const stop = async () => {
      stopped = true;
      wakeOnStop();
      this.live.delete(stop);
    };
    this.live.add(stop);
    const client = this.client;
    const afterFailure = this.afterFailure.bind(this);
    const assertOpen = this.assertOpen.bind(this);
    async function* iterate(): AsyncGenerator<RecordedEvent> {
      try {
        for (let failures = 0; !stopped; failures++) {
          assertOpen();
          const subscription = client.subscribeToAll({
            fromPosition: after === undefined || after < 0n ? START : atPosition(after),
            filter: clientFilter(filter),
          });
          const events = subscription[Symbol.asyncIterator]();
          try {
            for (;;) {
              const next = await Promise.race([events.next(), stopping]);
              if (next === 'stopped' || stopped) return;
              // The server ended a subscription that never ends by itself: treat it like a dropped connection.
              if (next.done) throw new UnavailableError(undefined, 'subscription ended by the server');
              failures = 0;
              const event = fromResolved(next.value as ResolvedEvent);
              if (!event) continue;
              after = event.position;
              if (keep(filter, event)) yield event;
            }
          } catch (error) {
            await afterFailure(error, failures, 'subscription to $all');
          } finally {
            await subscription.unsubscribe();
            void events.return?.();
          }
        }
      } finally {
        await stop();
      }
    }
    const generator = iterate();
    return { [Symbol.asyncIterator]: () => generator, stop };
  }

  async headPosition(filter?: EventFilter): Promise<bigint> {
    for await (const event of this.readAll({ direction: 'backwards', maxCount: 1, ...(filter ? { filter } : {}) })) {
      return event.position;
    }
    return -1n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The client swallows the cancellation of its own calls, so its subscriptions would just go quiet.
    await Promise.all([...this.live].map((stop) => stop()));
    await this.client.dispose();
  }
}

interface StoredAt {
  revision: bigint;
  position: bigint;
}

interface Tail {
  /** The stream's last revision, undefined when it has no events. */
  last: bigint | undefined;
  lastPosition: bigint | undefined;
  stored: Map<string, StoredAt>;
}

/**
 * The EventLog port: the one contract both event stores honour, modelled on
 * EventStoreDB so that the embedded SQLite store is a faithful stand-in.
 * Nothing outside src/eventlog imports an adapter; use `openEventLog`.
 * Events are appended as the codec encodes them (src/events/codec.ts).
 */
import { FedledgerError } from '../errors.ts';
import type { EncodedEvent } from '../events/codec.ts';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** `any`, `no_stream`, `stream_exists`, or the exact 0-based revision of the stream's last event. */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

export interface RecordedEvent {
  id: string;
  type: string;
  stream: string;
  /** 0-based revision within the stream. */
  revision: bigint;
  /** Global position in the log; grows strictly with commit order. */
  position: bigint;
  data: JsonObject;
  metadata: JsonObject;
  created: Date;
}

export interface AppendResult {
  /** Revision of the stream's last event after the append. */
  nextRevision: bigint;
  /** Position of the last event written (or, for a pure duplicate, of the original). */
  position: bigint;
  /** How many of the given events were new; the others were already stored. */
  written: number;
}

/** One append of several given to `appendMany`. */
export interface AppendRequest {
  stream: string;
  events: readonly EncodedEvent[];
  expected?: ExpectedRevision;
}

export interface EventFilter {
  eventTypes?: readonly string[];
  streamPrefixes?: readonly string[];
}

export type Direction = 'forwards' | 'backwards';

export interface ReadStreamOptions {
  /** Inclusive start revision; default: the first (forwards) or last (backwards). */
  fromRevision?: bigint;
  direction?: Direction;
  maxCount?: number;
}

export interface ReadAllOptions {
  /** Inclusive start position; default: the start (forwards) or end (backwards). */
  fromPosition?: bigint;
  direction?: Direction;
  maxCount?: number;
  filter?: EventFilter;
}

export interface SubscribeOptions {
  /** Exclusive: delivery starts after this position. Omit to start from the beginning. */
  afterPosition?: bigint;
  filter?: EventFilter;
}

export interface Subscription extends AsyncIterable<RecordedEvent> {
  /** Ends the iteration; pending reads resolve as done. */
  stop(): Promise<void>;
}

export interface EventLog {
  readonly kind: 'sqlite' | 'eventstoredb';
  append(stream: string, events: readonly EncodedEvent[], expected?: ExpectedRevision): Promise<AppendResult>;
  /**
   * Several appends, one result each. The embedded store writes them in the order given in one transaction, all
   * or none, at a fraction of the cost of as many `append` calls (an ingest makes one per record). EventStoreDB
   * makes each a write of its own (in order within a stream), so after a failure some may have landed; appends
   * are idempotent, so the whole call can be retried.
   */
  appendMany(appends: readonly AppendRequest[]): Promise<AppendResult[]>;
  /** Throws StreamNotFoundError for a stream that has no events. */
  readStream(stream: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent>;
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;
  subscribe(options?: SubscribeOptions): Subscription;
  /** Position of the last event in the log, or -1n when empty. */
  headPosition(filter?: EventFilter): Promise<bigint>;
  close(): Promise<void>;
}

export class WrongExpectedVersionError extends FedledgerError {
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    /** The stream's actual last revision, or 'no_stream'. */
    readonly actual: bigint | 'no_stream',
  ) {
    super(
      'WRONG_EXPECTED_VERSION',
      `append to ${JSON.stringify(stream)} expected ${String(expected)} but the stream is at ${String(actual)}`,
    );
  }
}

export class StreamNotFoundError extends FedledgerError {
  constructor(readonly stream: string) {
    super('STREAM_NOT_FOUND', `stream ${JSON.stringify(stream)} has no events`);
  }
}

export class InvalidEventIdError extends FedledgerError {
  constructor(readonly id: string) {
    super('INVALID_EVENT_ID', `event id ${JSON.stringify(id)} is not a UUID`);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Both stores key events by UUID; anything else is refused before a write. */
export function checkEventIds(events: readonly EncodedEvent[]): void {
  for (const e of events) if (!UUID.test(e.id)) throw new InvalidEventIdError(e.id);
}

export class EventLogUnavailableError extends FedledgerError {
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super('EVENTLOG_UNAVAILABLE', message);
  }
}

export function matchesFilter(filter: EventFilter | undefined, stream: string, type: string): boolean {
  if (!filter) return true;
  if (filter.eventTypes && filter.eventTypes.length > 0 && !filter.eventTypes.includes(type)) return false;
  if (
    filter.streamPrefixes &&
    filter.streamPrefixes.length > 0 &&
    !filter.streamPrefixes.some((p) => stream.startsWith(p))
  )
    return false;
  return true;
}

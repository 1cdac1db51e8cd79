/**
 * The EventLog port: the one contract both event stores honour, modelled on
 * EventStoreDB so that the embedded SQLite store is a faithful stand-in.
 * Nothing outside src/eventlog imports an adapter; use `openEventLog`.
 */
import { FedledgerError } from '../errors.ts';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** `any`, `no_stream`, `stream_exists`, or the exact 0-based revision of the stream's last event. */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

export interface NewEvent {
  /** UUID. Deterministic for ingested facts so re-sends are no-ops. */
  id: string;
  type: string;
  data: JsonObject;
  metadata?: JsonObject;
  /** `data` as JSON text, where the producer has it already: a store that keeps text writes it as it is. */
  readonly dataJson?: string;
}

/**
 * An event prepared on another thread, which arrives with its data as JSON text (cheaper to pass between threads
 * than the object): the text is what the embedded store writes, and the object is parsed only if asked for.
 */
export class SerializedEvent implements NewEvent {
  constructor(
    readonly id: string,
    readonly type: string,
    readonly dataJson: string,
    readonly metadata?: JsonObject,
  ) {}

  get data(): JsonObject {
    return JSON.parse(this.dataJson) as JsonObject;
  }
}

/** JSON texts that repeat (event metadata), each parsed once into a frozen object that is shared. */
export class SharedJsonObjects {
  private readonly byText = new Map<string, JsonObject>();

  of(text: string): JsonObject {
    let parsed = this.byText.get(text);
    if (parsed === undefined) {
      // A bound on memory for stores whose metadata does vary.
      if (this.byText.size >= 1000) this.byText.clear();
      parsed = Object.freeze(JSON.parse(text) as JsonObject);
      this.byText.set(text, parsed);
    }
    return parsed;
  }
}

const frozenTexts = new WeakMap<JsonObject, string>();

/** JSON text of an event's metadata: remembered for frozen objects, which event types share (and cannot change). */
export function metadataJson(metadata: JsonObject): string {
  if (!Object.isFrozen(metadata)) return JSON.stringify(metadata);
  let text = frozenTexts.get(metadata);
  if (text === undefined) {
    text = JSON.stringify(metadata);
    frozenTexts.set(metadata, text);
  }
  return text;
}

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
  events: readonly NewEvent[];
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
  append(stream: string, events: readonly NewEvent[], expected?: ExpectedRevision): Promise<AppendResult>;
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
export function checkEventIds(events: readonly NewEvent[]): void {
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

/**
 * The embedded event store: one SQLite file in WAL mode with synchronous=FULL.
 * Appends issued in the same tick are grouped into one transaction so they
 * share one fsync (group commit). Event ids are unique across the store, so
 * re-appending stored ids is a no-op that returns the original result.
 *
 * Both indexes have compact keys: the event id as its 16 bytes, the stream as
 * an integer id (names in `streams`). Appends to many streams land at random
 * places in the stream index; with 50-byte text keys each commit rewrote
 * several times more index pages than with 12-byte ones (bench:eventlog).
 */
import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import { type EncodedEvent, metadataFromJson, metadataJson } from '../events/codec.ts';
import {
  type AppendRequest,
  type AppendResult,
  type EventFilter,
  type EventLog,
  type ExpectedRevision,
  type JsonObject,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
  type Subscription,
  checkEventIds,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from './port.ts';

const PAGE = 2000;
/** Page size of new store files, in bytes. */
const FILE_PAGE_BYTES = 16_384;
/** Streams whose revision is cached; past this the cache starts over (a bound on memory, not on correctness). */
const REVISION_CACHE_LIMIT = 200_000;
/** How often a live subscription looks for appends made by other processes. */
const CROSS_PROCESS_POLL_MS = 250;
/**
 * A live subscription that has caught up after reading past this many positions checkpoints the WAL (passively:
 * it never waits for the writer), so the writer's own automatic checkpoint finds little left to copy. A projection
 * following an ingest on another thread takes that copying off the appending thread (bench:accounting).
 */
const CHECKPOINT_AFTER_POSITIONS = 10_000n;

/** An event ready for its row: id as bytes, metadata as text, before the write lock is taken. */
interface EventToWrite {
  id: Buffer;
  type: string;
  data: string;
  metadata: string;
}

interface AppendToWrite {
  stream: string;
  events: readonly EventToWrite[];
  expected: ExpectedRevision;
}

/** One call's appends (one for `append`), waiting for the next group commit. */
interface PendingAppends {
  appends: readonly AppendToWrite[];
  resolve: (r: AppendResult[]) => void;
  reject: (e: unknown) => void;
}

/**
 * A stored event as a row array (raw statements): half a microsecond a row cheaper to build than an object with
 * named columns (projections read millions). The stream id and creation time come as doubles, not BigInts.
 */
type EventRow = [
  position: bigint,
  /** The id as hex (see uuidOfHex). */
  id: string,
  stream: number,
  revision: bigint,
  type: string,
  data: string,
  metadata: string | null,
  created: number,
];
const POSITION = 0;
const REVISION = 3;

/** Format of the file, in PRAGMA user_version: 0 is a new file or the first format (text ids and stream names). */
const FORMAT = 2;

const SCHEMA = `
CREATE TABLE streams (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE events (
  position INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  stream INTEGER NOT NULL REFERENCES streams (id),
  revision INTEGER NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  metadata TEXT,
  created INTEGER NOT NULL
);
CREATE UNIQUE INDEX events_stream_revision ON events (stream, revision);
`;

/** From the first format: same events, same positions, ids and stream names moved to their compact keys. */
const MIGRATE_FROM_FIRST_FORMAT = `
ALTER TABLE events RENAME TO events_first_format;
DROP INDEX events_stream_revision;
${SCHEMA}
INSERT INTO streams (name) SELECT stream FROM events_first_format GROUP BY stream ORDER BY min(position);
INSERT INTO events (position, id, stream, revision, type, data, metadata, created)
  SELECT e.position, unhex(replace(e.id, '-', '')), s.id, e.revision, e.type, e.data, e.metadata, e.created
  FROM events_first_format e JOIN streams s ON s.name = e.stream ORDER BY e.position;
DROP TABLE events_first_format;
`;

/**
 * The id's 16 bytes come out as SQLite's hex and get their dashes in JavaScript: 0.4 µs a row less than building
 * the UUID text in SQL, which cost less than a Buffer per row (projections read millions).
 */
function uuidOfHex(hex: string): string {
  const h = hex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
/** Columns of a stored event (see EventRow); the stream's name comes from the in-memory map (see `streamName`). */
const EVENT_COLUMNS = `e.position, hex(e.id), CAST(e.stream AS REAL), e.revision, e.type, e.data, e.metadata, CAST(e.created AS REAL)`;
/** Events with their stream names, for stream-prefix filters; the CROSS JOIN keeps events as the outer loop. */
const EVENTS_WITH_NAMES = 'events e CROSS JOIN streams s ON s.id = e.stream';

const idBytes = (id: string) => Buffer.from(id.replaceAll('-', ''), 'hex');

const eventToWrite = (e: EncodedEvent): EventToWrite => ({
  id: idBytes(e.id),
  type: e.type,
  data: e.dataJson,
  metadata: metadataJson(e.schemaVersion),
});

function prepareSchema(db: Database.Database): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version === FORMAT) return;
    if (version > FORMAT) throw new Error(`event store format ${version} is newer than this build reads (${FORMAT})`);
    const hasEvents = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").get();
    db.exec(hasEvents ? MIGRATE_FROM_FIRST_FORMAT : SCHEMA);
    db.pragma(`user_version = ${FORMAT}`);
  }).immediate();
}

/**
 * Table, SQL condition and parameters for a filter; stream prefixes join the stream names and compare with substr,
 * so `%` and `_` are literal.
 */
function filterSql(filter: EventFilter | undefined): { from: string; sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (filter?.eventTypes && filter.eventTypes.length > 0) {
    parts.push(`e.type IN (${filter.eventTypes.map(() => '?').join(',')})`);
    params.push(...filter.eventTypes);
  }
  if (filter?.streamPrefixes && filter.streamPrefixes.length > 0) {
    parts.push(`(${filter.streamPrefixes.map(() => 'substr(s.name, 1, ?) = ?').join(' OR ')})`);
    for (const p of filter.streamPrefixes) params.push(p.length, p);
  }
  const from = filter?.streamPrefixes?.length ? EVENTS_WITH_NAMES : 'events e';
  return { from, sql: parts.length ? ` AND ${parts.join(' AND ')}` : '', params };
}

export class SqliteEventLog implements EventLog {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly queue: PendingAppends[] = [];
  private flushScheduled = false;
  private readonly committed = new EventEmitter();
  private closed = false;
  private readonly stmt;
  private readonly revisions = new Map<string, bigint>();
  /** Stream ids by name and names by id; neither changes once committed. */
  private readonly streamIds = new Map<string, bigint>();
  private readonly streamNames = new Map<number, string>();
  private dataVersion = -1;
  /** Last position of each event type, as of position `typeHeadsUpTo` (see `headPosition`). */
  private readonly typeHeads = new Map<string, bigint>();
  private typeHeadsUpTo = -1n;
  private readonly inSavepoint: (appends: readonly AppendToWrite[]) => AppendResult[];

  constructor(readonly file: string) {
    this.db = new Database(file);
    // Only a new file takes it (a WAL file keeps the page size it was made with). An event is about 1 KiB: on
    // 16 KiB pages a commit writes a quarter of the WAL frames it writes on 4 KiB ones, and ingest ran 14% faster.
    this.db.pragma(`page_size = ${FILE_PAGE_BYTES}`);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 10000');
    // A larger WAL between checkpoints (40 MiB, not SQLite's 4 MiB) lets pages rewritten by successive appends be
    // copied back once.
    this.db.pragma(`wal_autocheckpoint = ${Math.round((40 * 2 ** 20) / FILE_PAGE_BYTES)}`);
    // SQLite's default 2 MiB page cache spills dirty index pages in the middle of a large group commit.
    this.db.pragma('cache_size = -131072');
    prepareSchema(this.db);
    this.committed.setMaxListeners(0);
    // Called inside the group commit's transaction, better-sqlite3 runs it as a savepoint.
    this.inSavepoint = this.db.transaction((appends: readonly AppendToWrite[]) =>
      appends.map((a) => this.appendInTransaction(a)),
    );
    this.stmt = {
      byId: this.db.prepare('SELECT revision, position FROM events WHERE id = ?').safeIntegers(true),
      streamId: this.db.prepare('SELECT id FROM streams WHERE name = ?').pluck().safeIntegers(true),
      streamName: this.db.prepare('SELECT name FROM streams WHERE id = ?').pluck().safeIntegers(true),
      insertStream: this.db.prepare('INSERT INTO streams (name) VALUES (?)').safeIntegers(true),
      streamRevision: this.db.prepare('SELECT max(revision) FROM events WHERE stream = ?').pluck().safeIntegers(true),
      dataVersion: this.db.prepare('PRAGMA data_version').pluck(),
      insertNew: this.db.prepare(
        'INSERT INTO events (id, stream, revision, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
      ),
      head: this.db.prepare('SELECT max(position) AS p FROM events').safeIntegers(true),
      typeHeadsAfter: this.db
        .prepare('SELECT type, max(position) AS p FROM events WHERE position > ? GROUP BY type')
        .safeIntegers(true),
    };
  }

  async append(
    stream: string,
    events: readonly EncodedEvent[],
    expected: ExpectedRevision = 'any',
  ): Promise<AppendResult> {
    const [result] = await this.appendMany([{ stream, events, expected }]);
    return result!;
  }

  appendMany(appends: readonly AppendRequest[]): Promise<AppendResult[]> {
    if (this.closed) return Promise.reject(new Error('event log is closed'));
    let toWrite: AppendToWrite[];
    try {
      toWrite = appends.map(({ stream, events, expected = 'any' }) => {
        checkEventIds(events);
        return { stream, events: events.map(eventToWrite), expected };
      });
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ appends: toWrite, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue.splice(0);
    if (batch.length === 0) return;
    const outcomes: Array<{ ok: true; value: AppendResult[] } | { ok: false; error: unknown }> = [];
    try {
      this.db
        .transaction(() => {
          this.validateRevisionCache();
          for (const request of batch) {
            try {
              outcomes.push({ ok: true, value: this.writeAppends(request.appends) });
            } catch (error) {
              // A refused expectation fails its call only; anything else (the disk) fails the whole commit.
              if (!(error instanceof WrongExpectedVersionError)) throw error;
              outcomes.push({ ok: false, error });
            }
          }
        })
        .immediate();
    } catch (error) {
      // Rolled back: revisions and streams cached during the transaction never happened.
      this.forgetCaches();
      for (const request of batch) request.reject(error);
      return;
    }
    batch.forEach((request, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) request.resolve(outcome.value);
      else request.reject(outcome.error);
    });
    if (outcomes.some((o) => o.ok && o.value.some((r) => r.written > 0))) this.committed.emit('commit');
  }

  /**
   * One call's appends, all or none. An append is refused before it writes anything, so only a call of several
   * with an expected revision needs a savepoint to undo the appends before a refused one (and the caches, which
   * may hold what they wrote). Other calls go without: a savepoint copies every page it changes first, and at a
   * message per call that was 17 GB of copies for a million records (bench:accounting).
   */
  private writeAppends(appends: readonly AppendToWrite[]): AppendResult[] {
    if (appends.length === 1 || appends.every((a) => a.expected === 'any'))
      return appends.map((a) => this.appendInTransaction(a));
    try {
      return this.inSavepoint(appends);
    } catch (error) {
      this.forgetCaches();
      throw error;
    }
  }

  private forgetCaches(): void {
    this.revisions.clear();
    this.streamIds.clear();
    this.streamNames.clear();
  }

  /**
   * Stream revisions are cached across appends; SQLite's data_version tells,
   * once the write lock is held, whether another connection (the server, a
   * CLI run) committed meanwhile, in which case the cache is dropped.
   */
  private validateRevisionCache(): void {
    const version = this.stmt.dataVersion.get() as number;
    if (version !== this.dataVersion || this.revisions.size > REVISION_CACHE_LIMIT) this.revisions.clear();
    if (this.streamIds.size > REVISION_CACHE_LIMIT) this.streamIds.clear();
    if (this.streamNames.size > REVISION_CACHE_LIMIT) this.streamNames.clear();
    this.dataVersion = version;
  }

  /**
   * Writes one append, or throws before writing anything. Ids already stored
   * are skipped by the insert itself (ON CONFLICT DO NOTHING), so the common
   * case, all-new events, costs no lookup per event.
   */
  private appendInTransaction({ stream, events, expected }: AppendToWrite): AppendResult {
    const current = this.currentRevision(stream);
    if (!expectedMatches(expected, current)) {
      // A retried append that already succeeded is a no-op even if the stream has moved on since.
      const original = this.storedResult(events);
      if (original) return { nextRevision: current!, position: original.position, written: 0 };
      throw new WrongExpectedVersionError(stream, expected, current ?? 'no_stream');
    }
    let revision = current ?? -1n;
    let position = 0n;
    let written = 0;
    const created = Date.now();
    const streamId = this.streamId(stream, true)!;
    for (const event of events) {
      const info = this.stmt.insertNew.run(
        event.id,
        streamId,
        revision + 1n,
        event.type,
        event.data,
        event.metadata,
        created,
      );
      if (info.changes === 0) continue;
      revision += 1n;
      position = BigInt(info.lastInsertRowid);
      written += 1;
    }
    if (written === 0) {
      const original = this.storedResult(events)!;
      return { nextRevision: current ?? original.revision, position: original.position, written: 0 };
    }
    this.revisions.set(stream, revision);
    return { nextRevision: revision, position, written };
  }

  /** The stream's id; with `create`, a new stream gets one (inside the append's transaction). */
  private streamId(name: string, create = false): bigint | undefined {
    const cached = this.streamIds.get(name);
    if (cached !== undefined) return cached;
    let id = this.stmt.streamId.get(name) as bigint | undefined;
    if (id === undefined && create) id = BigInt(this.stmt.insertStream.run(name).lastInsertRowid);
    if (id !== undefined) this.streamIds.set(name, id);
    return id;
  }

  private streamName(id: number): string {
    let name = this.streamNames.get(id);
    if (name === undefined) {
      name = this.stmt.streamName.get(id) as string;
      this.streamNames.set(id, name);
    }
    return name;
  }

  private recorded(row: EventRow): RecordedEvent {
    return {
      position: row[0],
      id: uuidOfHex(row[1]),
      stream: this.streamName(row[2]),
      revision: row[3],
      type: row[4],
      data: JSON.parse(row[5]) as JsonObject,
      metadata: metadataFromJson(row[6]),
      created: new Date(row[7]),
    };
  }

  /** The stream's last revision, from the cache when no other connection has written since it was filled. */
  private currentRevision(stream: string): bigint | undefined {
    const cached = this.revisions.get(stream);
    if (cached !== undefined) return cached;
    const id = this.streamId(stream);
    if (id === undefined) return undefined;
    const stored = (this.stmt.streamRevision.get(id) as bigint | null) ?? undefined;
    if (stored !== undefined) this.revisions.set(stream, stored);
    return stored;
  }

  /** Where the last of these events was stored, when every one of them already is. */
  private storedResult(events: readonly EventToWrite[]): { revision: bigint; position: bigint } | undefined {
    let last: { revision: bigint; position: bigint } | undefined;
    for (const event of events) {
      const stored = this.stmt.byId.get(event.id) as { revision: bigint; position: bigint } | undefined;
      if (!stored) return undefined;
      if (!last || stored.position > last.position) last = stored;
    }
    return last;
  }

  async *readStream(stream: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    const backwards = options.direction === 'backwards';
    const id = this.streamId(stream);
    const last = id === undefined ? undefined : ((this.stmt.streamRevision.get(id) as bigint | null) ?? undefined);
    if (last === undefined) throw new StreamNotFoundError(stream);
    let remaining = options.maxCount ?? Infinity;
    let from = options.fromRevision ?? (backwards ? last : 0n);
    const sql = backwards
      ? `SELECT ${EVENT_COLUMNS} FROM events e WHERE e.stream = ? AND e.revision <= ? ORDER BY e.revision DESC LIMIT ?`
      : `SELECT ${EVENT_COLUMNS} FROM events e WHERE e.stream = ? AND e.revision >= ? ORDER BY e.revision ASC LIMIT ?`;
    const query = this.db.prepare(sql).safeIntegers(true).raw(true);
    while (remaining > 0) {
      const rows = query.all(id, from, Math.min(PAGE, remaining)) as EventRow[];
      for (const row of rows) yield this.recorded(row);
      if (rows.length < Math.min(PAGE, remaining)) return;
      remaining -= rows.length;
      from = rows[rows.length - 1]![REVISION] + (backwards ? -1n : 1n);
    }
  }

  async *readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    const backwards = options.direction === 'backwards';
    const { from: table, sql: where, params } = filterSql(options.filter);
    const query = this.db
      .prepare(
        backwards
          ? `SELECT ${EVENT_COLUMNS} FROM ${table} WHERE e.position <= ?${where} ORDER BY e.position DESC LIMIT ?`
          : `SELECT ${EVENT_COLUMNS} FROM ${table} WHERE e.position >= ?${where} ORDER BY e.position ASC LIMIT ?`,
      )
      .safeIntegers(true)
      .raw(true);
    let remaining = options.maxCount ?? Infinity;
    let from = options.fromPosition ?? (backwards ? 2n ** 63n - 1n : 0n);
    while (remaining > 0) {
      const limit = Math.min(PAGE, remaining);
      const rows = query.all(from, ...params, limit) as EventRow[];
      for (const row of rows) yield this.recorded(row);
      if (rows.length < limit) return;
      remaining -= rows.length;
      from = rows[rows.length - 1]![POSITION] + (backwards ? -1n : 1n);
    }
  }

  subscribe(options: SubscribeOptions = {}): Subscription {
    const { from: table, sql: where, params } = filterSql(options.filter);
    const query = this.db
      .prepare(
        `SELECT ${EVENT_COLUMNS} FROM ${table} WHERE e.position > ? AND e.position <= ?${where} ORDER BY e.position ASC LIMIT ${PAGE}`,
      )
      .safeIntegers(true)
      .raw(true);
    const head = this.stmt.head;
    let after = options.afterPosition ?? 0n;
    let stopped = false;
    let wake: (() => void) | undefined;
    const onCommit = () => wake?.();
    this.committed.on('commit', onCommit);
    const stop = async () => {
      stopped = true;
      this.committed.off('commit', onCommit);
      wake?.();
    };
    const isClosed = () => this.closed;
    const recorded = (row: EventRow) => this.recorded(row);
    const checkpoint = () => this.db.pragma('wal_checkpoint(PASSIVE)');
    let checkpointedAt = after;
    async function* iterate(): AsyncGenerator<RecordedEvent> {
      try {
        while (!stopped && !isClosed()) {
          // Bounded by the head read first: a filtered subscription then moves past events it does not want
          // instead of scanning them again on every poll (writes are serialised, so nothing commits below it later).
          const until = (head.get() as { p: bigint | null }).p ?? -1n;
          const rows = query.all(after, until, ...params) as EventRow[];
          for (const row of rows) {
            if (stopped) return;
            after = row[POSITION];
            yield recorded(row);
          }
          if (rows.length === PAGE) continue;
          if (until > after) after = until;
          if (after - checkpointedAt >= CHECKPOINT_AFTER_POSITIONS) {
            checkpoint();
            checkpointedAt = after;
          }
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, CROSS_PROCESS_POLL_MS);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
      } finally {
        await stop();
      }
    }
    const generator = iterate();
    return { [Symbol.asyncIterator]: () => generator, stop };
  }

  async headPosition(filter?: EventFilter): Promise<bigint> {
    if (!filter) {
      const row = this.stmt.head.get() as { p: bigint | null };
      return row.p ?? -1n;
    }
    if (filter.eventTypes?.length && !filter.streamPrefixes?.length) return this.typeHead(filter.eventTypes);
    const { from: table, sql: where, params } = filterSql(filter);
    const row = this.db
      .prepare(`SELECT max(e.position) AS p FROM ${table} WHERE 1${where}`)
      .safeIntegers(true)
      .get(...params) as { p: bigint | null };
    return row.p ?? -1n;
  }

  /**
   * The last position of any of these types. Readiness, metrics and every catch-up ask this; the log is
   * scanned once per process and then only past the last position seen (appends only ever add higher ones).
   */
  private typeHead(types: readonly string[]): bigint {
    const rows = this.stmt.typeHeadsAfter.all(this.typeHeadsUpTo) as { type: string; p: bigint }[];
    for (const { type, p } of rows) {
      this.typeHeads.set(type, p);
      if (p > this.typeHeadsUpTo) this.typeHeadsUpTo = p;
    }
    let head = -1n;
    for (const type of types) {
      const p = this.typeHeads.get(type);
      if (p !== undefined && p > head) head = p;
    }
    return head;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.queue.length) this.flush();
    this.closed = true;
    this.committed.emit('commit');
    this.db.close();
  }
}

function expectedMatches(expected: ExpectedRevision, current: bigint | undefined): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return current === undefined;
  if (expected === 'stream_exists') return current !== undefined;
  return current === expected;
}

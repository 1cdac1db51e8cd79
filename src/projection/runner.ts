/**
 * Runs one projection into its own SQLite file. Events are applied in
 * batches inside one transaction that also advances the checkpoint, so a
 * crash never double-counts or skips. On EventStoreDB, which may store a
 * re-sent event twice, each applied event id is remembered so a redelivered
 * one is applied once; the SQLite store's ids are unique, so there the check
 * would only cost time. A changed projection version is rebuilt side by side into a
 * fresh file and swapped in; the old file keeps serving until then.
 */
import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { decodeEvent } from '../events/catalogue.ts';
import type { EventFilter, EventLog, RecordedEvent, Subscription } from '../eventlog/port.ts';
import type { ApplyContext, Projection } from './projection.ts';

/**
 * Events per transaction while catching up. Projections that fold many events into one row (a VM-month, an
 * endpoint day) write each row once per batch: 5000 took a quarter of the accounting worker's CPU time off 1000.
 */
export const BATCH_SIZE = 5000;
/** A live batch is committed at most this long after its first event arrived. */
const LIVE_FLUSH_MS = 50;

export interface BatchCommitted {
  projection: string;
  position: bigint;
  events: number;
  topics: string[];
}

export interface CatchUpProgress {
  position: bigint;
  head: bigint;
  applied: number;
}

const META_SCHEMA = `
CREATE TABLE IF NOT EXISTS projection_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS applied_events (event_id TEXT PRIMARY KEY) WITHOUT ROWID;
`;

export function readModelPath(dir: string, name: string): string {
  return path.join(dir, `${name}.sqlite`);
}

function openFile(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 10000');
  // Read models are hundreds of MiB at federation scale; a 2 MiB cache would reread and spill pages every batch.
  db.pragma('cache_size = -262144');
  db.pragma('wal_autocheckpoint = 10000');
  db.exec(META_SCHEMA);
  return db;
}

function readMeta(db: Database.Database, key: string): string | undefined {
  return (db.prepare('SELECT value FROM projection_meta WHERE key = ?').get(key) as { value: string } | undefined)
    ?.value;
}

/** One opened read-model file with its prepared handler and checkpoint. */
class ReadModelFile {
  readonly db: Database.Database;
  /** Position of the last event applied (what the read model's figures include). */
  checkpoint: bigint;
  /** Position the log has been read to: at least the checkpoint, past events of other projections after it. */
  readTo: bigint;
  /** Whether the last batch applied since the file was opened reached the head (nothing put off is pending). */
  settled = false;
  private readonly handle;
  private readonly remember;
  private readonly saveCheckpoint;
  private readonly saveReadTo;

  constructor(
    readonly file: string,
    readonly projection: Projection,
    private readonly dedupeIds: boolean,
  ) {
    this.db = openFile(file);
    if (readMeta(this.db, 'version') === undefined) {
      this.db.transaction(() => {
        projection.setup(this.db);
        const put = this.db.prepare('INSERT INTO projection_meta (key, value) VALUES (?, ?)');
        put.run('name', projection.name);
        put.run('version', String(projection.version));
        put.run('checkpoint', '-1');
      })();
    }
    this.checkpoint = BigInt(readMeta(this.db, 'checkpoint') ?? '-1');
    const readTo = BigInt(readMeta(this.db, 'read_to') ?? '-1');
    this.readTo = readTo > this.checkpoint ? readTo : this.checkpoint;
    this.handle = projection.prepare(this.db);
    this.remember = this.db.prepare('INSERT OR IGNORE INTO applied_events (event_id) VALUES (?)');
    this.saveCheckpoint = this.db.prepare("UPDATE projection_meta SET value = ? WHERE key = 'checkpoint'");
    this.saveReadTo = this.db.prepare("INSERT OR REPLACE INTO projection_meta (key, value) VALUES ('read_to', ?)");
  }

  get version(): number {
    return Number(readMeta(this.db, 'version'));
  }

  /**
   * Applies the events after the checkpoint in one transaction; returns the topics that changed. `atHead` says
   * whether the batch reaches the head of the log (see ApplyContext).
   */
  apply(events: readonly RecordedEvent[], atHead: boolean): string[] {
    const topics = new Set<string>();
    const ctx: ApplyContext = { db: this.db, changed: (topic) => topics.add(topic), atHead };
    let last = this.checkpoint;
    this.db.transaction(() => {
      for (const event of events) {
        if (event.position <= last) continue;
        last = event.position;
        if (this.dedupeIds && this.remember.run(event.id).changes === 0) continue;
        const decoded = decodeEvent(event);
        this.handle(
          { event: decoded, id: event.id, stream: event.stream, position: event.position, created: event.created },
          ctx,
        );
      }
      this.projection.afterBatch?.(this.db, ctx);
      this.saveCheckpoint.run(String(last));
    })();
    this.checkpoint = last;
    if (last > this.readTo) this.readTo = last;
    this.settled = atHead;
    return [...topics];
  }

  /**
   * Notes that the log is read to `position`: every event of this projection's up to it is applied, the ones after
   * the checkpoint are other projections'. The checkpoint stays where the figures are (a report states it).
   */
  readThrough(position: bigint): void {
    if (position <= this.readTo) return;
    this.saveReadTo.run(String(position));
    this.readTo = position;
  }

  close(): void {
    this.db.close();
  }
}

export class ProjectionRunner extends EventEmitter<{ committed: [BatchCommitted]; error: [unknown] }> {
  private current: ReadModelFile;
  private subscription: Subscription | undefined;
  private live: Promise<void> | undefined;
  private readonly filter: EventFilter;
  private readonly dedupeIds: boolean;

  constructor(
    private readonly log: EventLog,
    readonly projection: Projection,
    private readonly dir: string,
  ) {
    super();
    mkdirSync(dir, { recursive: true });
    this.filter = { eventTypes: projection.eventTypes };
    this.dedupeIds = log.kind !== 'sqlite';
    this.current = new ReadModelFile(readModelPath(dir, projection.name), projection, this.dedupeIds);
  }

  get file(): string {
    return this.current.file;
  }

  get checkpoint(): bigint {
    return this.current.checkpoint;
  }

  /** The read model's database, for queries in the same process. */
  get db(): Database.Database {
    return this.current.db;
  }

  /** Head of the events this projection reads. */
  head(): Promise<bigint> {
    return this.log.headPosition(this.filter);
  }

  /** Brings the read model to the head of the log, rebuilding first if the projection's version changed. */
  async catchUp(onProgress?: (p: CatchUpProgress) => void): Promise<number> {
    if (this.current.version !== this.projection.version) return this.rebuild(onProgress);
    return this.applyUntilHead(this.current, onProgress);
  }

  /** Replays every event into a fresh file, then swaps it in. */
  async rebuild(onProgress?: (p: CatchUpProgress) => void): Promise<number> {
    const wasLive = this.live !== undefined;
    if (wasLive) await this.stop();
    const target = readModelPath(this.dir, this.projection.name);
    const next = `${target}.next`;
    for (const suffix of ['', '-wal', '-shm']) rmSync(next + suffix, { force: true });
    const fresh = new ReadModelFile(next, this.projection, this.dedupeIds);
    const applied = await this.applyUntilHead(fresh, onProgress);
    // A single file without a WAL can be renamed atomically over the old one.
    fresh.db.pragma('wal_checkpoint(TRUNCATE)');
    fresh.db.pragma('journal_mode = DELETE');
    fresh.close();
    this.current.close();
    renameSync(next, target);
    for (const suffix of ['-wal', '-shm']) if (existsSync(target + suffix)) rmSync(target + suffix);
    this.current = new ReadModelFile(target, this.projection, this.dedupeIds);
    if (wasLive) this.start();
    return applied;
  }

  /**
   * Applies this projection's events up to the head of the whole log, then notes the log read to that head. The
   * whole log's head is one lookup; `head()`, this projection's own, looks at the type of every event appended since it last
   * asked (a CLI command's first catch-up read a million events' types to learn it).
   */
  private async applyUntilHead(file: ReadModelFile, onProgress?: (p: CatchUpProgress) => void): Promise<number> {
    const head = await this.log.headPosition();
    let applied = 0;
    let batch: RecordedEvent[] = [];
    const commit = (atHead: boolean) => {
      const topics = file.apply(batch, atHead);
      applied += batch.length;
      if (file === this.current && (batch.length || topics.length)) this.emitCommitted(batch.length, topics);
      onProgress?.({ position: file.checkpoint, head, applied });
      batch = [];
    };
    if (file.readTo >= head) {
      // Work a projection put off before this file was opened (a catch-up that stopped short) is done now.
      if (!file.settled) commit(true);
      return 0;
    }
    for await (const event of this.log.readAll({ fromPosition: file.readTo + 1n, filter: this.filter })) {
      if (event.position > head) break;
      batch.push(event);
      if (batch.length >= BATCH_SIZE) commit(event.position === head);
      if (event.position === head) break;
    }
    if (batch.length || !file.settled) commit(true);
    // Every event of this projection's up to the head is applied; the ones after the last of them are not its own.
    file.readThrough(head);
    return applied;
  }

  private emitCommitted(events: number, topics: string[]): void {
    this.emit('committed', { projection: this.projection.name, position: this.current.checkpoint, events, topics });
  }

  /** Follows the log live from where it was read to, until `stop()`. */
  start(): void {
    if (this.live) return;
    const subscription = this.log.subscribe({ afterPosition: this.current.readTo, filter: this.filter });
    this.subscription = subscription;
    this.live = this.follow(subscription).catch((error: unknown) => {
      this.emit('error', error);
    });
  }

  /**
   * Applies live events in batches of BATCH_SIZE, or of what arrived within LIVE_FLUSH_MS of a batch's first event.
   * One timer per batch: while the runner lags, events arrive as microtasks and timers cannot fire, so a timer per
   * event piled up millions of them (a worker following a 5.8M-result ingest ran out of heap). The timer commits the
   * batch itself: it can only fire while this loop waits for the next event, and racing every event against it cost
   * about 1.7 µs an event (each race adds a reaction to the batch's timer promise).
   */
  private async follow(subscription: Subscription): Promise<void> {
    const iterator = subscription[Symbol.asyncIterator]();
    let batch: RecordedEvent[] = [];
    let timer: NodeJS.Timeout | undefined;
    let failed: { error: unknown } | undefined;
    const commit = (atHead: boolean) => {
      clearTimeout(timer);
      timer = undefined;
      const topics = this.current.apply(batch, atHead);
      if (batch.length || topics.length) this.emitCommitted(batch.length, topics);
      batch = [];
    };
    // Quiet for LIVE_FLUSH_MS: the runner is at the head (an empty batch completes what a full one put off).
    const commitQuiet = () => {
      timer = undefined;
      try {
        commit(true);
      } catch (error) {
        failed = { error };
        void subscription.stop();
      }
    };
    try {
      for (;;) {
        const next = await iterator.next();
        if (failed) throw failed.error;
        if (next.done) {
          if (batch.length || !this.current.settled) commit(true);
          return;
        }
        batch.push(next.value);
        // A full batch means more are waiting.
        if (batch.length >= BATCH_SIZE) commit(false);
        timer ??= setTimeout(commitQuiet, LIVE_FLUSH_MS);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
    await this.live;
    this.subscription = undefined;
    this.live = undefined;
  }

  async close(): Promise<void> {
    await this.stop();
    this.current.close();
  }
}

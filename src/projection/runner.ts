/**
 * Runs one projection into its own SQLite file. Events are applied in
 * batches inside one transaction that also advances the checkpoint, so a
 * crash never double-counts or skips. On EventStoreDB, which may store a
 * re-sent event twice, each applied event id is remembered so a redelivered
 * one is applied once; the SQLite store's ids are unique, so there the check
 * would only cost time. A changed projection version is rebuilt side by side into a
 * fresh file and copied in; the old file keeps serving until then. Several
 * processes may project one file: a batch commits only if nobody else wrote
 * the file since this process read it (docs/operations.md). A live batch that
 * fails is retried with backoff, and the failure is reported meanwhile.
 */
import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { FedledgerError } from '../errors.ts';
import { decode } from '../events/codec.ts';
import type { EventFilter, EventLog, RecordedEvent, Subscription } from '../eventlog/port.ts';
import type { AppliedEvent, ApplyContext, OpenedProjection, Projection } from './projection.ts';

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

/**
 * Another process (a second `serve`, a CLI command catching up, a rebuild) wrote the read model since this one
 * last read its state: nothing of the batch was applied, and the file's state must be read again.
 */
class ReadModelMoved extends Error {
  constructor(file: string) {
    super(`${file} was written by another process`);
  }
}

/**
 * One opened read-model file with its opened projection and checkpoint. Several processes may project one file:
 * each batch runs in an IMMEDIATE transaction that first checks that the stored checkpoint and generation are the
 * ones this process last read (compare-and-set), so an event is never applied twice, and `reload()` reads the
 * file's state again (opening the projection afresh) when they are not. A batch that does not commit leaves the
 * opened projection's memory ahead of the file: the next batch opens it afresh.
 */
class ReadModelFile {
  readonly db: Database.Database;
  /** Position of the last event applied (what the read model's figures include), as this process last read it. */
  checkpoint = -1n;
  /** Position the log has been read to: at least the checkpoint, past events of other projections after it. */
  readTo = -1n;
  /** Whether the last batch applied since the file was opened reached the head (nothing put off is pending). */
  settled = false;
  /** The version of the projection the file holds. */
  version = 0;
  /** Changes when a rebuild replaces the file's content, so that a process holding it open notices. */
  private generation = '';
  private opened: OpenedProjection | undefined;
  /** A batch failed to commit since the projection was opened. */
  private rolledBack = false;
  private readonly remember;
  private readonly saveCheckpoint;
  private readonly saveReadTo;
  private readonly stored;

  constructor(
    readonly file: string,
    readonly projection: Projection,
    private readonly dedupeIds: boolean,
  ) {
    this.db = openFile(file);
    // Checked again under the write lock: two processes opening a fresh file set it up once.
    if (readMeta(this.db, 'version') === undefined)
      this.db
        .transaction(() => {
          if (readMeta(this.db, 'version') !== undefined) return;
          projection.setup(this.db);
          const put = this.db.prepare('INSERT INTO projection_meta (key, value) VALUES (?, ?)');
          put.run('name', projection.name);
          put.run('version', String(projection.version));
          put.run('checkpoint', '-1');
          put.run('generation', randomUUID());
        })
        .immediate();
    this.remember = this.db.prepare('INSERT OR IGNORE INTO applied_events (event_id) VALUES (?)');
    this.saveCheckpoint = this.db.prepare("UPDATE projection_meta SET value = ? WHERE key = 'checkpoint'");
    this.saveReadTo = this.db.prepare("INSERT OR REPLACE INTO projection_meta (key, value) VALUES ('read_to', ?)");
    this.stored = this.db.prepare(
      "SELECT key, value FROM projection_meta WHERE key IN ('checkpoint', 'read_to', 'generation', 'version')",
    );
    this.reload();
  }

  private readStored(): { checkpoint: bigint; readTo: bigint; generation: string; version: number } {
    const meta = new Map((this.stored.all() as Array<{ key: string; value: string }>).map((r) => [r.key, r.value]));
    return {
      checkpoint: BigInt(meta.get('checkpoint') ?? '-1'),
      readTo: BigInt(meta.get('read_to') ?? '-1'),
      generation: meta.get('generation') ?? '',
      version: Number(meta.get('version')),
    };
  }

  /** The checkpoint the file holds now (another process may have moved it). */
  storedCheckpoint(): bigint {
    return this.db.open ? this.readStored().checkpoint : this.checkpoint;
  }

  /**
   * Reads the file's state and opens the projection afresh (what it held in memory is dropped), in one read
   * transaction so that both see the same commit.
   */
  reload(): void {
    this.db.transaction(() => {
      const stored = this.readStored();
      this.checkpoint = stored.checkpoint;
      this.readTo = stored.readTo > stored.checkpoint ? stored.readTo : stored.checkpoint;
      this.generation = stored.generation;
      this.version = stored.version;
      this.settled = false;
      this.rolledBack = false;
      // Another version's tables are not this projection's: such a file is rebuilt, never applied to (see claim).
      this.opened = stored.version === this.projection.version ? this.projection.open(this.db) : undefined;
    })();
  }

  /** Inside a write transaction: throws ReadModelMoved if another process wrote the file since it was last read. */
  private claim(): void {
    if (this.version !== this.projection.version)
      throw new FedledgerError(
        'READ_MODEL_VERSION',
        `${this.file} holds version ${this.version} of projection ${this.projection.name}; this process projects version ${this.projection.version} (run one fedledger version per data directory)`,
      );
    const stored = this.readStored();
    if (stored.checkpoint !== this.checkpoint || stored.generation !== this.generation)
      throw new ReadModelMoved(this.file);
  }

  /**
   * Applies the events after the checkpoint in one transaction; returns the topics that changed. `atHead` says
   * whether the batch reaches the head of the log (see ApplyContext). Throws ReadModelMoved, applying nothing, if
   * another process wrote the file since this one last read it.
   */
  apply(events: readonly RecordedEvent[], atHead: boolean): string[] {
    if (this.rolledBack) this.reload();
    const topics = new Set<string>();
    const ctx: ApplyContext = { changed: (topic) => topics.add(topic), atHead };
    let last = this.checkpoint;
    try {
      this.db
        .transaction(() => {
          this.claim();
          const batch: AppliedEvent[] = [];
          for (const event of events) {
            if (event.position <= last) continue;
            last = event.position;
            if (this.dedupeIds && this.remember.run(event.id).changes === 0) continue;
            const { id, stream, position, created } = event;
            batch.push({ event: decode(event), id, stream, position, created });
          }
          this.opened!.apply(batch, ctx);
          this.saveCheckpoint.run(String(last));
        })
        .immediate();
    } catch (error) {
      this.rolledBack = true;
      throw error;
    }
    this.checkpoint = last;
    if (last > this.readTo) this.readTo = last;
    this.settled = atHead;
    return [...topics];
  }

  /**
   * Notes that the log is read to `position`: every event of this projection's up to it is applied, the ones after
   * the checkpoint are other projections'. The checkpoint stays where the figures are (a report states it). Checked
   * like a batch: the claim holds for the file's content only if nobody else wrote it meanwhile.
   */
  readThrough(position: bigint): void {
    if (position <= this.readTo) return;
    this.db
      .transaction(() => {
        this.claim();
        this.saveReadTo.run(String(position));
      })
      .immediate();
    this.readTo = position;
  }

  close(): void {
    this.db.close();
  }
}

/** A projection that cannot apply its events (a full disk, a locked or damaged file), and since when. */
export interface ProjectionFailure {
  /** The error's code and message, e.g. `SQLITE_FULL: database or disk is full`. */
  reason: string;
  since: Date;
  /** Failed attempts in a row. */
  attempts: number;
}

export interface RunnerOptions {
  /** Wait before the first retry of a failed live projection, doubled per failure up to `retryMaxMs`. */
  retryFirstMs?: number;
  retryMaxMs?: number;
}

const describe = (error: unknown): string => {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' ? `${code}: ${message}` : message;
};

export class ProjectionRunner extends EventEmitter<{ committed: [BatchCommitted]; error: [unknown] }> {
  private current: ReadModelFile;
  private subscription: Subscription | undefined;
  private live: Promise<void> | undefined;
  private stopping = false;
  /** Following the log failed: the file's state is read again, and caught up, before following it again. */
  private stale = false;
  private wake: (() => void) | undefined;
  private readonly filter: EventFilter;
  private readonly dedupeIds: boolean;
  private readonly retryFirstMs: number;
  private readonly retryMaxMs: number;
  /** Set while the projection fails (a catch-up, or live and being retried); cleared by the next batch that commits. */
  failure: ProjectionFailure | undefined;
  /** Failed attempts since the runner was made. */
  failures = 0;

  constructor(
    private readonly log: EventLog,
    readonly projection: Projection,
    private readonly dir: string,
    options: RunnerOptions = {},
  ) {
    super();
    mkdirSync(dir, { recursive: true });
    this.filter = { eventTypes: projection.eventTypes };
    this.dedupeIds = log.kind !== 'sqlite';
    this.retryFirstMs = options.retryFirstMs ?? 250;
    this.retryMaxMs = options.retryMaxMs ?? 30_000;
    this.current = new ReadModelFile(readModelPath(dir, projection.name), projection, this.dedupeIds);
  }

  get file(): string {
    return this.current.file;
  }

  /** Position of the last event the read model's figures include, as its file holds it now. */
  get checkpoint(): bigint {
    return this.current.storedCheckpoint();
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
    try {
      return await this.applyUntilHead(this.current, onProgress);
    } catch (error) {
      // Recorded so that readiness tells at once; `start()` retries from the file's state.
      this.stale = true;
      this.noteFailure(error);
      throw error;
    }
  }

  /**
   * Replays every event into a fresh file, then copies it over the read model in one transaction (SQLite's backup),
   * which keeps serving until then. A copy rather than a rename: another process may hold the file open, and a file
   * renamed over an open one, or its WAL removed, would leave that process reading a deleted file or pair the new
   * file with the old one's WAL. The other process's next batch sees the new generation and reads the file again.
   */
  async rebuild(onProgress?: (p: CatchUpProgress) => void): Promise<number> {
    const wasLive = this.live !== undefined;
    if (wasLive) await this.stop();
    const target = readModelPath(this.dir, this.projection.name);
    removeAbandonedRebuilds(target);
    const next = `${target}.rebuild-${process.pid}-${randomUUID().slice(0, 8)}`;
    try {
      const fresh = new ReadModelFile(next, this.projection, this.dedupeIds);
      let applied: number;
      try {
        applied = await this.applyUntilHead(fresh, onProgress);
        // All pages in one step: the target is written in one transaction, so readers see the old or the new model.
        await fresh.db.backup(target, { progress: () => 0x7fffffff });
      } finally {
        fresh.close();
      }
      this.current.reload();
      return applied;
    } finally {
      for (const suffix of ['', '-wal', '-shm']) rmSync(next + suffix, { force: true });
      if (wasLive) this.start();
    }
  }

  /**
   * Applies this projection's events up to the head of the whole log, then notes the log read to that head. The
   * whole log's head is one lookup; `head()`, this projection's own, looks at the type of every event appended since it last
   * asked (a CLI command's first catch-up read a million events' types to learn it). When another process wrote
   * the file meanwhile, the file's state is read again and the catch-up goes on from there.
   */
  private async applyUntilHead(file: ReadModelFile, onProgress?: (p: CatchUpProgress) => void): Promise<number> {
    const head = await this.log.headPosition();
    let applied = 0;
    for (;;) {
      try {
        applied += await this.applyFromReadTo(file, head, onProgress);
        return applied;
      } catch (error) {
        if (!(error instanceof ReadModelMoved)) throw error;
        file.reload();
      }
    }
  }

  private async applyFromReadTo(
    file: ReadModelFile,
    head: bigint,
    onProgress?: (p: CatchUpProgress) => void,
  ): Promise<number> {
    let applied = 0;
    let batch: RecordedEvent[] = [];
    const commit = (atHead: boolean) => {
      const topics = file.apply(batch, atHead);
      applied += batch.length;
      if (file === this.current) this.committed(batch.length, topics);
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

  /** After a batch committed to the served file: the runner is healthy again, and says what changed. */
  private committed(events: number, topics: string[]): void {
    this.failure = undefined;
    if (events || topics.length)
      this.emit('committed', { projection: this.projection.name, position: this.current.checkpoint, events, topics });
  }

  /**
   * Follows the log live from where it was read to, until `stop()`. A batch that fails (a full disk, a file locked
   * too long) is reported as `failure` and an `error` event at once, and retried with backoff from the file's
   * state, until it commits; a file another process wrote is read again and followed from its state.
   */
  start(): void {
    if (this.live) return;
    this.stopping = false;
    this.live = this.keepUp();
  }

  private async keepUp(): Promise<void> {
    while (!this.stopping) {
      try {
        if (this.stale) {
          // Another process may have written the file meanwhile.
          this.current.reload();
          this.stale = false;
          await this.applyUntilHead(this.current);
        }
        const subscription = this.log.subscribe({ afterPosition: this.current.readTo, filter: this.filter });
        this.subscription = subscription;
        if (this.stopping) await subscription.stop();
        await this.follow(subscription);
        return;
      } catch (error) {
        await this.subscription?.stop();
        this.stale = true;
        if (error instanceof ReadModelMoved) continue;
        this.noteFailure(error);
        if (this.listenerCount('error') > 0) this.emit('error', error);
        const wait = Math.min(this.retryFirstMs * 2 ** (this.failure!.attempts - 1), this.retryMaxMs);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  /** Notes a failed attempt: `failure` says so at once (readiness, metrics). */
  private noteFailure(error: unknown): void {
    this.failures++;
    this.failure = {
      reason: describe(error),
      since: this.failure?.since ?? new Date(),
      attempts: (this.failure?.attempts ?? 0) + 1,
    };
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
      this.committed(batch.length, topics);
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
    this.stopping = true;
    this.wake?.();
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

/** Removes the files of rebuilds whose process is gone (killed part way); a running one's are left alone. */
function removeAbandonedRebuilds(target: string): void {
  const dir = path.dirname(target);
  const prefix = `${path.basename(target)}.rebuild-`;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number.parseInt(name.slice(prefix.length), 10);
    if (pid === process.pid || isRunning(pid)) continue;
    rmSync(path.join(dir, name), { force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

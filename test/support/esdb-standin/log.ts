/**
 * The stand-in's transaction log, in memory, following EventStoreDB's rules
 * (as read in its IndexWriter.CheckCommit, AllReader and gRPC Streams code):
 *
 * - Positions are byte offsets of log records. Every event of an append is
 *   its own record, so its commit and prepare positions are both its own
 *   offset; an append reports the last record's offset. The log opens with a
 *   non-event record (the epoch), so no event sits at position 0.
 * - $all may only be read from 0, from the end, or from the start of a record;
 *   anything else is an invalid position. Forward reads include the event at
 *   the position, backward reads stop before it.
 * - It starts with the system events a fresh node has written ($-streams
 *   and $-types), which clients must be able to keep out of their reads.
 * - Expected versions use the server's codes (any -2, no stream -1, stream
 *   exists -4, else a revision). A repeat of an append is recognised two ways:
 *   with an explicit version, by the ids stored right after that version; with
 *   any / stream exists, by a bounded cache of recently committed ids. It then
 *   succeeds without writing and reports the original last event.
 */

import { randomUUID } from 'node:crypto';

export const ANY = -2n;
export const NO_STREAM = -1n;
export const STREAM_EXISTS = -4n;

/** Size of the epoch record that opens the log. */
const EPOCH_RECORD_SIZE = 128n;
/** Fixed part of a prepare record, beyond its variable fields. */
const RECORD_OVERHEAD = 96n;
const DEFAULT_ID_CACHE = 100_000;

export interface ProposedEvent {
  id: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  metadata: Uint8Array;
}

export interface StoredEvent extends ProposedEvent {
  stream: string;
  revision: bigint;
  position: bigint;
  /** .NET ticks (100 ns) since the Unix epoch, as the server reports `created`. */
  created: bigint;
}

export type AppendOutcome =
  | { kind: 'success'; current: bigint; position: bigint | undefined }
  | { kind: 'wrong_expected_version'; current: bigint };

export interface EventFilter {
  on: 'stream' | 'type';
  regex?: RegExp;
  prefixes?: readonly string[];
}

export type AllFrom = 'start' | 'end' | bigint;
export type StreamFrom = 'start' | 'end' | bigint;

export class InvalidPositionError extends Error {
  readonly code = 'INVALID_POSITION';
}

export function matches(filter: EventFilter | undefined, event: StoredEvent): boolean {
  if (!filter) return true;
  const subject = filter.on === 'stream' ? event.stream : event.type;
  if (filter.regex) return filter.regex.test(subject);
  return (filter.prefixes ?? []).some((p) => subject.startsWith(p));
}

export class StandInLog {
  private readonly all: StoredEvent[] = [];
  private readonly streams = new Map<string, StoredEvent[]>();
  /** Recently committed ids, oldest first; the server's committed-events cache. */
  private readonly recentIds = new Map<string, StoredEvent>();
  private end = EPOCH_RECORD_SIZE;
  private readonly waiters = new Set<() => void>();

  /** Starts like a fresh node: a few system events ($-streams, $-types) already in $all. */
  constructor(private readonly idCacheSize = DEFAULT_ID_CACHE) {
    const json = (value: object) => Buffer.from(JSON.stringify(value));
    const system = (stream: string, type: string, data: object) =>
      this.append(stream, NO_STREAM, [
        { id: randomUUID(), type, contentType: 'application/json', data: json(data), metadata: new Uint8Array() },
      ]);
    system('$user-admin', '$User', { loginName: 'admin', fullName: 'Event Store Administrator', groups: ['$admins'] });
    system('$settings', '$settings', { $userStreamAcl: { $r: '$all' } });
    system('$$$scavenges', '$metadata', { $maxAge: 2592000 });
  }

  get length(): number {
    return this.all.length;
  }

  at(index: number): StoredEvent | undefined {
    return this.all[index];
  }

  /** Resolves at the next append; `cancel` resolves it early and forgets it. */
  appended(): { promise: Promise<void>; cancel: () => void } {
    let wake!: () => void;
    const promise = new Promise<void>((resolve) => (wake = resolve));
    this.waiters.add(wake);
    return { promise, cancel: () => (this.waiters.delete(wake), wake()) };
  }

  lastRevision(stream: string): bigint {
    return this.streams.get(stream)?.at(-1)?.revision ?? -1n;
  }

  append(stream: string, expected: bigint, events: readonly ProposedEvent[]): AppendOutcome {
    const current = this.lastRevision(stream);
    const stored = this.streams.get(stream) ?? [];
    const wrong = { kind: 'wrong_expected_version', current } as const;
    if (expected === STREAM_EXISTS && current < 0n) return wrong;

    if (expected === ANY || expected === STREAM_EXISTS) {
      let last: StoredEvent | undefined;
      for (const [i, event] of events.entries()) {
        const known = this.recentIds.get(event.id);
        if (!known || known.stream !== stream) {
          // Unknown first id: a fresh write. Unknown later id: a partial repeat, refused.
          if (i === 0) return this.write(stream, current, events);
          return wrong;
        }
        last = known;
      }
      if (!last) return { kind: 'success', current, position: undefined };
      return { kind: 'success', current: last.revision, position: last.position };
    }

    if (expected < current) {
      let revision = expected;
      for (const event of events) {
        revision += 1n;
        if (stored[Number(revision)]?.id !== event.id) return wrong;
      }
      if (revision === expected) return wrong;
      return { kind: 'success', current: revision, position: stored[Number(revision)]!.position };
    }
    if (expected > current) return wrong;
    return this.write(stream, current, events);
  }

  private write(stream: string, current: bigint, events: readonly ProposedEvent[]): AppendOutcome {
    if (events.length === 0) return { kind: 'success', current, position: undefined };
    let stored = this.streams.get(stream);
    if (!stored) this.streams.set(stream, (stored = []));
    const created = BigInt(Date.now()) * 10_000n;
    let revision = current;
    let position = this.end;
    for (const event of events) {
      revision += 1n;
      position = this.end;
      const record: StoredEvent = { ...event, stream, revision, position, created };
      this.end += recordSize(record);
      this.all.push(record);
      stored.push(record);
      this.recentIds.delete(event.id);
      this.recentIds.set(event.id, record);
      if (this.recentIds.size > this.idCacheSize) this.recentIds.delete(this.recentIds.keys().next().value!);
    }
    for (const wake of this.waiters) wake();
    this.waiters.clear();
    return { kind: 'success', current: revision, position };
  }

  /** Events of one stream, or undefined when it has none. */
  readStream(stream: string, from: StreamFrom, backwards: boolean, count: bigint): StoredEvent[] | undefined {
    const stored = this.streams.get(stream);
    if (!stored) return undefined;
    const limit = Number(count > BigInt(stored.length) ? BigInt(stored.length) : count);
    if (backwards) {
      const last =
        from === 'start' ? 0 : from === 'end' ? stored.length - 1 : Math.min(Number(from), stored.length - 1);
      return stored.slice(Math.max(0, last + 1 - limit), last + 1).reverse();
    }
    const first = from === 'start' ? 0 : from === 'end' ? stored.length : Number(from);
    return stored.slice(first, first + limit);
  }

  /** Index of the first event at or after `from` (forwards), or one past the last event before it (backwards). */
  indexOf(from: AllFrom): number {
    if (from === 'start') return 0;
    if (from === 'end') return this.all.length;
    if (from !== 0n && from !== this.end && this.findRecord(from) === undefined) {
      throw new InvalidPositionError(`no log record starts at ${from}`);
    }
    let lo = 0;
    let hi = this.all.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.all[mid]!.position < from) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  *readAll(from: AllFrom, backwards: boolean, count: bigint, filter?: EventFilter): Generator<StoredEvent> {
    let remaining = count;
    const start = this.indexOf(from);
    if (backwards) {
      for (let i = start - 1; i >= 0 && remaining > 0n; i--) {
        if (!matches(filter, this.all[i]!)) continue;
        remaining -= 1n;
        yield this.all[i]!;
      }
      return;
    }
    for (let i = start; i < this.all.length && remaining > 0n; i++) {
      if (!matches(filter, this.all[i]!)) continue;
      remaining -= 1n;
      yield this.all[i]!;
    }
  }

  private findRecord(position: bigint): StoredEvent | undefined {
    let lo = 0;
    let hi = this.all.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const p = this.all[mid]!.position;
      if (p === position) return this.all[mid];
      if (p < position) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }
}

function recordSize(event: StoredEvent): bigint {
  return (
    RECORD_OVERHEAD +
    BigInt(Buffer.byteLength(event.stream) + Buffer.byteLength(event.type) + event.data.length + event.metadata.length)
  );
}

/**
 * What a read-model projection is: a name, a version, the events it reads,
 * its tables, and deterministic handlers applied inside the runner's
 * transaction. Projections live in projections/; the runner is in runner.ts.
 */
import type Database from 'better-sqlite3';
import type { DomainEvent, EventType } from '../events/catalogue.ts';

export interface AppliedEvent {
  event: DomainEvent;
  id: string;
  stream: string;
  position: bigint;
  created: Date;
}

export interface ApplyContext {
  db: Database.Database;
  /** Names a topic that changed (e.g. `site:CESNET-MCC`); published after the batch commits. */
  changed(topic: string): void;
  /**
   * False while the runner knows more events are waiting (a catch-up's full batches, a live batch cut at its size):
   * a projection may then put off work the next batches would redo, kept in its own tables. True at the head: the
   * read model must then be complete.
   */
  atHead: boolean;
}

export interface Projection {
  readonly name: string;
  /** Bump when tables or handlers change: the runner rebuilds side by side and swaps. */
  readonly version: number;
  readonly eventTypes: readonly EventType[];
  /** Creates the projection's tables in a fresh file. */
  setup(db: Database.Database): void;
  /** Prepares statements once per opened file; returns the handler for one event. */
  prepare(db: Database.Database): (applied: AppliedEvent, ctx: ApplyContext) => void;
  /**
   * Called once per batch, inside its transaction, after the events and before the checkpoint:
   * lets a projection defer work that many events of a batch make stale (e.g. recomputing a day).
   */
  afterBatch?(db: Database.Database, ctx: ApplyContext): void;
}

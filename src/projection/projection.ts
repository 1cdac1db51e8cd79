/**
 * What a read-model projection is: a name, a version, the events it reads,
 * its tables, and what it makes of a batch of events, applied inside the
 * runner's transaction. Projections live in projections/; the runner is in runner.ts.
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
  /** Names a topic that changed (e.g. `site:CESNET-MCC`); published after the batch commits. */
  changed(topic: string): void;
  /**
   * False while the runner knows more events are waiting (a catch-up's full batches, a live batch cut at its size):
   * a projection may then put off work the next batches would redo, kept in its own tables. True at the head: the
   * read model must then be complete.
   */
  atHead: boolean;
}

/** A projection opened on one read-model file. */
export interface OpenedProjection {
  /**
   * Applies a batch (possibly empty: the runner at the head, to finish work put off) in the runner's transaction.
   * Every event comes once and after the file's checkpoint; what the projection holds in memory may be kept from
   * batch to batch, for the runner opens it afresh whenever a batch did not commit or another process wrote the file.
   */
  apply(batch: readonly AppliedEvent[], ctx: ApplyContext): void;
}

export interface Projection {
  readonly name: string;
  /** Bump when tables or handlers change: the runner rebuilds side by side and swaps. */
  readonly version: number;
  readonly eventTypes: readonly EventType[];
  /** Creates the projection's tables in a fresh file. */
  setup(db: Database.Database): void;
  /** Prepares statements and reads what it keeps in memory, once per opening of a file. */
  open(db: Database.Database): OpenedProjection;
}

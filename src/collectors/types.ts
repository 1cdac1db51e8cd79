/** What every collector returns to the runner, which turns it into events. */
import type { CloudUsageRecord, EventData } from '../events/catalogue.ts';
import type { HttpPolicy } from './http.ts';

export interface CollectContext {
  now: () => Date;
  policy: HttpPolicy;
  /** Called as scopes (projects, steps) complete, for a progress bar. */
  progress?: (done: number, total: number, label: string) => void;
}

export interface ScopeFailure {
  scope: string;
  code: string;
  message: string;
}

export interface StateChangeOut {
  data: EventData<'VmStateChanged'>;
  /** Distinguishes two changes at the same instant (Nova request id, OpenNebula history SEQ). */
  requestId: string;
}

export interface Reachability {
  status: 'OK' | 'WARNING' | 'CRITICAL';
  /** Time the VM manager took to answer its first call, or null when it did not. */
  responseMs: number | null;
  detail: string;
}

export interface CollectionResult {
  records: CloudUsageRecord[];
  stateChanges: StateChangeOut[];
  /** New cursor per scope (only scopes collected successfully). */
  cursors: Map<string, string>;
  snapshot: Omit<EventData<'CollectorSnapshotTaken'>, 'source' | 'siteName' | 'takenAt'> | null;
  failures: ScopeFailure[];
  reachability: Reachability;
}

/**
 * "Now" for VMs still running: the run's start floored to the hour, so runs
 * within the same hour over unchanged data produce identical records (and no
 * new events), and an hourly schedule still reports every hour's usage.
 */
export function accountingNow(runStart: Date): number {
  return Math.floor(runStart.getTime() / 3_600_000) * 3600;
}

/**
 * A collector source as a job for the scheduler (src/jobs/scheduler.ts): one
 * collection run per firing of the source's cron expression. The scheduler
 * keeps a run from overlapping the previous one, logs and counts it.
 */
import type { EventLog } from '../eventlog/port.ts';
import type { Job } from '../jobs/scheduler.ts';
import type { CollectorSource } from './config.ts';
import { runCollection, type RunOptions, type RunSummary } from './run.ts';

export function collectorJob(source: CollectorSource, log: EventLog, options: RunOptions = {}): Job<RunSummary> {
  return {
    name: `collect:${source.name}`,
    cron: source.cron,
    run: () => runCollection(log, source, options),
  };
}

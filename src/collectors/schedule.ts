/**
 * Cron jobs for the collectors, one per source, for `serve` to start. A job
 * never overlaps itself: a tick that finds the previous run still going is
 * skipped (and reported), not queued. The clock is injectable for tests.
 */
import { CronJob, CronTime } from 'cron';
import type { EventLog } from '../eventlog/port.ts';
import type { CollectorConfig, CollectorSource } from './config.ts';
import { runCollection, type RunOptions, type RunSummary } from './run.ts';

export interface CollectorJob {
  name: string;
  cronTime: string;
  source: CollectorSource;
  /** Runs now unless a run is in progress; resolves to null when skipped. */
  run(): Promise<RunSummary | null>;
  /** When the job next fires after `from` (UTC). */
  nextRun(from: Date): Date;
  readonly running: boolean;
}

export interface JobHooks {
  onResult?: (summary: RunSummary) => void;
  onSkipped?: (source: string) => void;
  onError?: (source: string, error: unknown) => void;
}

export function collectorJobs(
  config: CollectorConfig,
  log: EventLog,
  options: RunOptions = {},
  hooks: JobHooks = {},
): CollectorJob[] {
  return config.sources.map((source) => {
    let inFlight: Promise<RunSummary> | null = null;
    const time = new CronTime(source.cron, 'UTC');
    return {
      name: `collect:${source.name}`,
      cronTime: source.cron,
      source,
      get running() {
        return inFlight !== null;
      },
      nextRun: (from: Date) => time.getNextDateFrom(from, 'UTC').toJSDate(),
      async run() {
        if (inFlight) {
          hooks.onSkipped?.(source.name);
          return null;
        }
        inFlight = runCollection(log, source, options);
        try {
          const summary = await inFlight;
          hooks.onResult?.(summary);
          return summary;
        } catch (error) {
          hooks.onError?.(source.name, error);
          throw error;
        } finally {
          inFlight = null;
        }
      },
    };
  });
}

/** Starts the jobs on their cron expressions (UTC); returns a stop function. */
export function startCollectorJobs(jobs: readonly CollectorJob[]): () => Promise<void> {
  const crons = jobs.map((job) =>
    CronJob.from({
      cronTime: job.cronTime,
      timeZone: 'UTC',
      start: true,
      waitForCompletion: true,
      // Failures are reported through the hooks; a failed run must not stop the schedule.
      onTick: () =>
        job.run().then(
          () => undefined,
          () => undefined,
        ),
      name: job.name,
    }),
  );
  return async () => {
    await Promise.all(crons.map((c) => c.stop()));
  };
}

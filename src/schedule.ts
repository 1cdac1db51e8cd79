/**
 * Cron jobs `fedledger serve` runs (UTC): the GOCDB pull when configured.
 * A job never overlaps itself; failures are logged and the schedule goes on.
 */
import { CronJob } from 'cron';
import type { Logger } from 'pino';
import type { EventLog } from './eventlog/port.ts';
import type { ScheduledJob } from './ingest/availability-service.ts';

export function startJobs(jobs: readonly ScheduledJob[], log: EventLog, logger: Logger): () => Promise<void> {
  const crons = jobs.map((job) =>
    CronJob.from({
      cronTime: job.cron,
      timeZone: 'UTC',
      start: true,
      waitForCompletion: true,
      name: job.name,
      onTick: async () => {
        try {
          logger.info({ job: job.name, result: await job.run(log) }, 'scheduled job done');
        } catch (error) {
          logger.error({ job: job.name, err: error }, 'scheduled job failed');
        }
      },
    }),
  );
  return async () => {
    await Promise.all(crons.map((c) => c.stop()));
  };
}

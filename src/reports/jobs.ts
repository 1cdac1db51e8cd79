/**
 * The report schedule as jobs for the scheduler (src/jobs/scheduler.ts): a
 * monthly job (06:00 UTC on the 2nd, for the previous month) and a quarterly
 * one (06:00 UTC on the 2nd day of each quarter, for the previous quarter).
 *
 * A run is recorded as a ReportGenerated event, and a job checks the log
 * before running, so a period is reported once however often the process
 * restarts; a due run that was missed (the process was down at 06:00) is
 * caught up when the jobs start.
 */
import { CronTime } from 'cron';
import type { EventLog } from '../eventlog/port.ts';
import type { Job } from '../jobs/scheduler.ts';
import { type Period, type PeriodKind, periodContaining, previousPeriod, scheduledPeriod } from './period.ts';
import { scheduledRunRecorded } from './runs.ts';

export interface ReportJob {
  name: string;
  kind: PeriodKind;
  /** Cron expression, UTC; it must fire once per period of `kind`. */
  cron: string;
}

export const REPORT_JOBS: readonly ReportJob[] = [
  { name: 'report-monthly', kind: 'month', cron: '0 6 2 * *' },
  { name: 'report-quarterly', kind: 'quarter', cron: '0 6 2 1,4,7,10 *' },
];

const nextFire = (job: ReportJob, from: Date) => new CronTime(job.cron, 'UTC').getNextDateFrom(from, 'UTC').toJSDate();

/** The latest fire time of `job` at or before `now` within the current or the previous period, if any. */
export function lastDue(job: ReportJob, now: Date): Date | undefined {
  const current = periodContaining(now, job.kind);
  for (const p of [current, previousPeriod(current)]) {
    const due = nextFire(job, p.start.minus({ milliseconds: 1 }).toJSDate());
    if (due.getTime() <= now.getTime() && due.getTime() < p.end.toMillis()) return due;
  }
  return undefined;
}

export interface ReportJobsOptions {
  log: EventLog;
  /** Writes the report of `period` and records it as a scheduled run. */
  run: (period: Period, scheduledFor: Date) => Promise<unknown>;
  jobs?: readonly ReportJob[];
}

/** The report jobs; they run one after another (the monthly and quarterly jobs share a minute four times a year). */
export function reportJobs(o: ReportJobsOptions): Job[] {
  let chain: Promise<unknown> = Promise.resolve();
  return (o.jobs ?? REPORT_JOBS).map((job) => ({
    name: job.name,
    cron: job.cron,
    missed: (now) => lastDue(job, now),
    run: ({ scheduledFor }) => {
      const period = scheduledPeriod(scheduledFor, job.kind);
      const run = chain.then(async () => {
        if (await scheduledRunRecorded(o.log, period.name)) return { period: period.name, alreadyRecorded: true };
        return { period: period.name, written: await o.run(period, scheduledFor) };
      });
      chain = run.catch(() => {});
      return run;
    },
  }));
}

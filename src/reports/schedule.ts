/**
 * The report schedule: a monthly job (06:00 UTC on the 2nd, for the previous
 * month) and a quarterly one (06:00 UTC on the 2nd day of each quarter, for
 * the previous quarter). Fire times come from the `cron` package's CronTime;
 * timers and "now" come from an injectable clock, so tests drive time.
 *
 * A run is recorded as a ReportGenerated event, and a job checks the log
 * before running, so a period is reported once however often the process
 * restarts; on start, a due run that was missed (the process was down at
 * 06:00) is caught up.
 */
import { CronTime } from 'cron';
import type { EventLog } from '../eventlog/port.ts';
import { type Period, type PeriodKind, periodContaining, previousPeriod, scheduledPeriod } from './period.ts';
import { scheduledRunRecorded } from './runs.ts';

export interface Clock {
  now(): Date;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => new Date(),
  setTimer: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

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

/** Node timers overflow past 2^31 − 1 ms (24.8 days, less than a month): longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SchedulerOptions {
  log: EventLog;
  clock: Clock;
  /** Writes the report of `period` and records it as a scheduled run. */
  run: (period: Period, scheduledFor: Date) => Promise<unknown>;
  jobs?: readonly ReportJob[];
  onError?: (job: ReportJob, period: Period, error: unknown) => void;
}

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

export class ReportScheduler {
  private readonly cancels = new Map<string, () => void>();
  /** Runs one after another: the monthly and quarterly jobs share a minute four times a year. */
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: SchedulerOptions) {}

  private get jobs(): readonly ReportJob[] {
    return this.o.jobs ?? REPORT_JOBS;
  }

  /** Catches up missed runs, then arms each job's timer. */
  start(): Promise<void> {
    this.stopped = false;
    const now = this.o.clock.now();
    for (const job of this.jobs) {
      const due = lastDue(job, now);
      if (due) this.fire(job, due);
      this.arm(job, nextFire(job, now));
    }
    return this.idle();
  }

  stop(): void {
    this.stopped = true;
    for (const cancel of this.cancels.values()) cancel();
    this.cancels.clear();
  }

  /** Resolves when the runs started so far have finished. */
  idle(): Promise<void> {
    return this.chain;
  }

  private arm(job: ReportJob, at: Date): void {
    if (this.stopped) return;
    const wait = Math.min(Math.max(at.getTime() - this.o.clock.now().getTime(), 0), MAX_TIMER_MS);
    this.cancels.set(
      job.name,
      this.o.clock.setTimer(wait, () => {
        const now = this.o.clock.now();
        if (now.getTime() < at.getTime()) return this.arm(job, at);
        this.fire(job, at);
        this.arm(job, nextFire(job, now));
      }),
    );
  }

  private fire(job: ReportJob, due: Date): void {
    const period = scheduledPeriod(due, job.kind);
    this.chain = this.chain.then(async () => {
      try {
        if (await scheduledRunRecorded(this.o.log, period.name)) return;
        await this.o.run(period, due);
      } catch (error) {
        this.o.onError?.(job, period, error);
      }
    });
  }
}

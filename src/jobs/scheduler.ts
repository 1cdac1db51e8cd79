/**
 * The one job scheduler of a fedledger process: the GOCDB pull, the
 * collectors and the technical board's reports are jobs on it. Each job
 * fires on its cron expression (UTC; fire times from the `cron` package's
 * CronTime, timers from an injectable clock) and is run the same way:
 *
 * - a job never overlaps itself: a tick that finds its previous run going is
 *   skipped, logged and counted, not queued;
 * - an optional `guard` is asked before every run, so a deployment of several
 *   nodes can let one of them run each job (a lease); a refused run is skipped;
 * - every run is logged (`job done` with its result and duration, `job failed`
 *   with the error) and counted on /metrics; a failure never stops the schedule;
 * - a job may name a fire time it missed while no process ran (`missed`): it
 *   runs when the job is added to a started scheduler, or when the scheduler starts.
 */
import { CronTime } from 'cron';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import { isoInstant } from '../instant.ts';
import { type Clock, systemClock } from './clock.ts';

export interface Job<R = unknown> {
  /** Unique within a scheduler; the `job` label of logs and metrics. */
  name: string;
  /** Cron expression, evaluated in UTC. */
  cron: string;
  /** One run; `scheduledFor` is the fire time it stands for (now, for a run asked by hand). */
  run(tick: { scheduledFor: Date }): Promise<R>;
  /** The latest fire time at or before `now` that should still be run when the job starts, if any. */
  missed?(now: Date): Date | undefined;
}

/** Asked before each run; false skips it (another node holds the job's lease, say). */
export type JobGuard = (job: Job, scheduledFor: Date) => boolean | Promise<boolean>;

export interface SchedulerOptions {
  logger: Logger;
  clock?: Clock;
  guard?: JobGuard;
  /** Where the job metrics are registered (serve's /metrics registry); none: not exported. */
  registry?: Registry;
}

/** A job as added: run it now, see whether it runs, and when it fires next. */
export interface JobHandle<R> {
  readonly name: string;
  readonly running: boolean;
  /** Runs now unless a run is in progress or the guard refuses: then resolves to null. Rejects when the run fails. */
  run(): Promise<R | null>;
  /** The first fire time after `from`. */
  nextRun(from: Date): Date;
}

/** Node timers overflow past 2^31 − 1 ms (24.8 days, less than a month): longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Entry {
  job: Job;
  time: CronTime;
  inFlight: Promise<unknown> | undefined;
  cancel: (() => void) | undefined;
}

export class JobScheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly runs: Counter<'job' | 'outcome'>;
  private readonly seconds: Histogram<'job'>;
  private started = false;

  constructor(private readonly o: SchedulerOptions) {
    this.clock = o.clock ?? systemClock;
    const registers = o.registry ? [o.registry] : [];
    this.runs = new Counter({
      name: 'fedledger_job_runs_total',
      help: 'Scheduled job runs by outcome (done, failed, skipped: still running or refused by the guard)',
      labelNames: ['job', 'outcome'] as const,
      registers,
    });
    this.seconds = new Histogram({
      name: 'fedledger_job_duration_seconds',
      help: 'Duration of scheduled job runs that finished, done or failed',
      labelNames: ['job'] as const,
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers,
    });
  }

  add<R>(job: Job<R>): JobHandle<R> {
    if (this.entries.has(job.name)) throw new Error(`a job named ${job.name} is already scheduled`);
    const entry: Entry = { job, time: new CronTime(job.cron, 'UTC'), inFlight: undefined, cancel: undefined };
    this.entries.set(job.name, entry);
    if (this.started) this.begin(entry);
    return {
      name: job.name,
      get running() {
        return entry.inFlight !== undefined;
      },
      run: () => this.execute(entry, this.clock.now()) as Promise<R | null>,
      nextRun: (from) => this.nextFire(entry, from),
    };
  }

  /** Runs the missed runs, arms every job's timer, and resolves when the runs it started have finished. */
  start(): Promise<void> {
    this.started = true;
    for (const entry of this.entries.values()) this.begin(entry);
    return this.idle();
  }

  /** Disarms every timer; runs in progress go on (`idle()` waits for them). */
  stop(): void {
    this.started = false;
    for (const entry of this.entries.values()) {
      entry.cancel?.();
      entry.cancel = undefined;
    }
  }

  /** Resolves when the runs in progress have finished (failed runs included). */
  async idle(): Promise<void> {
    for (;;) {
      const going = [...this.entries.values()].flatMap((e) => (e.inFlight ? [e.inFlight] : []));
      if (going.length === 0) return;
      await Promise.allSettled(going);
    }
  }

  private begin(entry: Entry): void {
    const now = this.clock.now();
    const missed = entry.job.missed?.(now);
    if (missed) this.tick(entry, missed);
    this.arm(entry, this.nextFire(entry, now));
  }

  private nextFire(entry: Entry, from: Date): Date {
    return entry.time.getNextDateFrom(from, 'UTC').toJSDate();
  }

  private arm(entry: Entry, at: Date): void {
    if (!this.started) return;
    const wait = Math.min(Math.max(at.getTime() - this.clock.now().getTime(), 0), MAX_TIMER_MS);
    entry.cancel = this.clock.setTimer(wait, () => {
      const now = this.clock.now();
      if (now.getTime() < at.getTime()) return this.arm(entry, at);
      this.tick(entry, at);
      this.arm(entry, this.nextFire(entry, now));
    });
  }

  /** A timer's or a missed run: its failure is logged and counted, and the schedule goes on. */
  private tick(entry: Entry, scheduledFor: Date): void {
    this.execute(entry, scheduledFor).catch(() => {});
  }

  private execute(entry: Entry, scheduledFor: Date): Promise<unknown> {
    const { job } = entry;
    const context = { job: job.name, scheduledFor: isoInstant(scheduledFor) };
    if (entry.inFlight) {
      this.runs.inc({ job: job.name, outcome: 'skipped' });
      this.o.logger.warn(context, 'job still running; run skipped');
      return Promise.resolve(null);
    }
    const run = (async () => {
      if (this.o.guard && !(await this.o.guard(job, scheduledFor))) {
        this.runs.inc({ job: job.name, outcome: 'skipped' });
        this.o.logger.info(context, 'job run refused by the guard; skipped');
        return null;
      }
      const started = performance.now();
      const took = () => (performance.now() - started) / 1000;
      try {
        const result = await job.run({ scheduledFor });
        const seconds = took();
        this.seconds.observe({ job: job.name }, seconds);
        this.runs.inc({ job: job.name, outcome: 'done' });
        this.o.logger.info({ ...context, ms: Math.round(seconds * 1000), result }, 'job done');
        return result;
      } catch (err) {
        this.seconds.observe({ job: job.name }, took());
        this.runs.inc({ job: job.name, outcome: 'failed' });
        this.o.logger.error({ ...context, err }, 'job failed');
        throw err;
      }
    })();
    entry.inFlight = run;
    const clear = () => {
      entry.inFlight = undefined;
    };
    run.then(clear, clear);
    return run;
  }
}

import type { Clock } from '../../src/jobs/clock.ts';
import type { JobScheduler } from '../../src/jobs/scheduler.ts';

/** A clock the test moves by hand; it refuses timers Node would overflow. */
export class FakeClock implements Clock {
  private timers: Array<{ at: number; fn: () => void }> = [];
  constructor(private t: number) {}
  now(): Date {
    return new Date(this.t);
  }
  setTimer(ms: number, fn: () => void): () => void {
    if (ms > 2 ** 31 - 1) throw new Error(`timer of ${ms} ms would overflow`);
    const timer = { at: this.t + ms, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((x) => x !== timer);
    };
  }
  /** Moves to `iso`, firing due timers in time order and letting the scheduler finish each run. */
  async advanceTo(iso: string, scheduler: JobScheduler): Promise<void> {
    const target = Date.parse(iso);
    for (;;) {
      const next = this.timers.filter((x) => x.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = next.at;
      next.fn();
      await scheduler.idle();
    }
    this.t = target;
  }
}

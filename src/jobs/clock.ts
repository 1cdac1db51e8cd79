/**
 * Time as the job scheduler sees it: "now" and one-shot timers. Tests pass a
 * clock they move by hand, so a month of schedule runs in milliseconds.
 */
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

/**
 * Seconds per category and the A/R ratios. up = OK + WARNING, unknown =
 * the profile's unknown and missing states, down = its downtime state;
 * CRITICAL and any other state lower both ratios.
 */
import type { OperationsProfile } from './profiles.ts';
import { DAY_SECONDS, type Timeline } from './timeline.ts';

export interface Seconds {
  up: number;
  unknown: number;
  down: number;
  critical: number;
  total: number;
}

export const zeroSeconds = (): Seconds => ({ up: 0, unknown: 0, down: 0, critical: 0, total: 0 });

type Category = Exclude<keyof Seconds, 'total'>;

export function categoryOf(state: string, defaults: OperationsProfile['defaults']): Category {
  if (state === 'OK' || state === 'WARNING') return 'up';
  if (state === defaults.unknown || state === defaults.missing) return 'unknown';
  if (state === defaults.down) return 'down';
  return 'critical';
}

/** Seconds of each category over [0, until) of the day (until < 86,400 for today's elapsed part). */
export function secondsOf(timeline: Timeline, defaults: OperationsProfile['defaults'], until = DAY_SECONDS): Seconds {
  const s = zeroSeconds();
  s.total = until;
  for (let i = 0; i < timeline.length; i++) {
    const from = timeline[i]!.at;
    if (from >= until) break;
    const to = Math.min(timeline[i + 1]?.at ?? DAY_SECONDS, until);
    s[categoryOf(timeline[i]!.state, defaults)] += to - from;
  }
  return s;
}

export function addSeconds(a: Seconds, b: Seconds): Seconds {
  return {
    up: a.up + b.up,
    unknown: a.unknown + b.unknown,
    down: a.down + b.down,
    critical: a.critical + b.critical,
    total: a.total + b.total,
  };
}

export interface Ratios {
  /** Percentages; -1 when undefined. */
  availability: number;
  reliability: number;
}

/** A = up / (T − unknown), R = up / (T − unknown − down), as percentages; −1 when the denominator is 0. */
export function ratios(s: Seconds): Ratios {
  const aBase = s.total - s.unknown;
  const rBase = aBase - s.down;
  return { availability: aBase > 0 ? (100 * s.up) / aBase : -1, reliability: rBase > 0 ? (100 * s.up) / rBase : -1 };
}

/** Mean of the defined values (≥ 0), or −1 when none is defined: how groups of sites combine. */
export function meanDefined(values: readonly number[]): number {
  const defined = values.filter((v) => v >= 0);
  return defined.length ? defined.reduce((a, b) => a + b, 0) / defined.length : -1;
}

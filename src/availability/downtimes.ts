/**
 * Declared downtimes applied to an endpoint's day. Only SCHEDULED + OUTAGE
 * downtimes count; each covers its start up to its end minute inclusive,
 * i.e. until end + 60 s, clipped to the day. Where none applies the
 * endpoint keeps the state its metrics give, including changes made during
 * the downtime.
 */
import type { State } from './profiles.ts';
import { DAY_SECONDS, type Point, type Timeline, normalise } from './timeline.ts';

export interface Downtime {
  classification: 'SCHEDULED' | 'UNSCHEDULED';
  severity: 'OUTAGE' | 'WARNING';
  /** Epoch seconds. */
  start: number;
  end: number;
}

export const countsForAvailability = (d: Downtime) => d.classification === 'SCHEDULED' && d.severity === 'OUTAGE';

/**
 * Where a downtime's cover ends (epoch seconds, exclusive): its end minute is inclusive, but never past the end of
 * the day its end falls in, and an end at 00:00 falls in the day before (as GOCDB's per-day query has it).
 */
export function coveredUntil(end: number): number {
  return Math.min(end + 60, (Math.floor((end - 1) / DAY_SECONDS) + 1) * DAY_SECONDS);
}

/** Merged [from, to) intervals in seconds from `dayStart` that the downtimes cover. */
export function downtimeIntervals(downtimes: readonly Downtime[], dayStart: number): Array<[number, number]> {
  const clipped = downtimes
    .filter(countsForAvailability)
    .map(({ start, end }): [number, number] => [
      Math.max(start - dayStart, 0),
      Math.min(coveredUntil(end) - dayStart, DAY_SECONDS),
    ])
    .filter(([from, to]) => from < to)
    .sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const [from, to] of clipped) {
    const last = merged[merged.length - 1];
    if (last && from <= last[1]) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
}

/** Overwrites the timeline with `down` over the intervals. */
export function applyDowntimes(timeline: Timeline, intervals: ReadonlyArray<[number, number]>, down: State): Timeline {
  if (intervals.length === 0) return timeline;
  const out: Point[] = [];
  let i = 0;
  const inside = (at: number) => intervals.some(([from, to]) => at >= from && at < to);
  // Walk the union of the timeline's points and the interval edges.
  const edges = new Set<number>(timeline.map((p) => p.at));
  for (const [from, to] of intervals) {
    edges.add(from);
    if (to < DAY_SECONDS) edges.add(to);
  }
  for (const at of [...edges].sort((a, b) => a - b)) {
    while (i + 1 < timeline.length && timeline[i + 1]!.at <= at) i++;
    out.push({ at, state: inside(at) ? down : timeline[i]!.state });
  }
  return normalise(out);
}

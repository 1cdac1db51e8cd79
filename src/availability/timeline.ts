/**
 * Status timelines over one UTC day: change points in seconds from the day's
 * start, the first at 0, strictly increasing, no two neighbours equal. A
 * point's state holds until the next point or the end of the day.
 */
import type { Operation, State } from './profiles.ts';

export const DAY_SECONDS = 86_400;

export interface Point {
  at: number;
  state: State;
}
export type Timeline = Point[];

/** Drops points that repeat the previous state. */
export function normalise(points: readonly Point[]): Timeline {
  const out: Timeline = [];
  for (const p of points) if (out.length === 0 || out[out.length - 1]!.state !== p.state) out.push(p);
  return out;
}

export function constant(state: State): Timeline {
  return [{ at: 0, state }];
}

/**
 * One metric's day: it starts with `seed` (its last status of the previous
 * day) or `missing`, and each result sets the status from its second on.
 * Results must be sorted by time; two in the same second are merged by `tie`.
 */
export function metricTimeline(
  seed: State | null,
  missing: State,
  results: readonly Point[],
  tie: Operation,
): Timeline {
  const points: Point[] = [{ at: 0, state: seed ?? missing }];
  let previousAt = -1;
  for (const r of results) {
    const last = points[points.length - 1]!;
    if (r.at === previousAt) last.state = tie(last.state, r.state);
    else if (r.at === 0) last.state = r.state;
    else points.push({ at: r.at, state: r.state });
    previousAt = r.at;
  }
  return normalise(points);
}

/** The state in force at second `at`. */
export function stateAt(timeline: Timeline, at: number): State {
  let lo = 0;
  let hi = timeline.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (timeline[mid]!.at <= at) lo = mid;
    else hi = mid - 1;
  }
  return timeline[lo]!.state;
}

/** Folds timelines with `op` on the union of their change points. */
export function combine(timelines: readonly Timeline[], op: Operation): Timeline {
  if (timelines.length === 0) throw new Error('combine needs at least one timeline');
  if (timelines.length === 1) return timelines[0]!;
  const cursors = timelines.map(() => 0);
  const out: Point[] = [];
  let at = 0;
  for (;;) {
    let state: State | undefined;
    for (let i = 0; i < timelines.length; i++) {
      const t = timelines[i]!;
      while (cursors[i]! + 1 < t.length && t[cursors[i]! + 1]!.at <= at) cursors[i]!++;
      const s = t[cursors[i]!]!.state;
      state = state === undefined ? s : op(state, s);
    }
    out.push({ at, state: state! });
    let next = Infinity;
    for (let i = 0; i < timelines.length; i++) {
      const following = timelines[i]![cursors[i]! + 1];
      if (following && following.at < next) next = following.at;
    }
    if (next === Infinity) return normalise(out);
    at = next;
  }
}

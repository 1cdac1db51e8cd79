/**
 * A resource centre's integration into the federation: three checks
 * (accounting, monitoring, information system) judged from time-stamped
 * facts, and the state they put the site in. Pure: the facts come from the
 * read models (projections/accounting/integration-queries.ts,
 * projections/availability/integration-queries.ts) and the log's collector
 * snapshots; docs/onboarding.md says what each check asks for.
 *
 * The state is replayed over the site's history, one sample at the end of
 * each UTC day and one at `now`, because "lapsed" depends on having been
 * integrated before and the state carries the date it was entered.
 */
import { DateTime } from 'luxon';
import { DAY, dayName, dayOf } from '../availability/days.ts';
import { isoSeconds } from '../instant.ts';

export const INTEGRATION_STATES = ['not started', 'partial', 'integrated', 'lapsed'] as const;
export type IntegrationState = (typeof INTEGRATION_STATES)[number];

export type CheckName = 'accounting' | 'monitoring' | 'information';

export interface IntegrationRules {
  /** Accounting silent (no accepted record received) for longer than this: the check fails. */
  silentAfterDays: number;
  /** The span of the accounting evidence (records, rejections, VMs). */
  windowDays: number;
  /** A metric with no result for longer than this is not reporting. */
  probesSilentAfterHours: number;
  /** EGI resource centre OLA, monthly, in percent. */
  targets: { availability: number; reliability: number; unknown: number };
}

export const DEFAULT_RULES: IntegrationRules = {
  silentAfterDays: 7,
  windowDays: 30,
  probesSilentAfterHours: 24,
  targets: { availability: 80, reliability: 85, unknown: 10 },
};

export interface EndpointFacts {
  hostname: string;
  service: string;
  /** In production and monitored per GOCDB. */
  counted: boolean;
  /** A cloud VM-management interface (what makes a resource centre's cloud registered). */
  cloud: boolean;
  /** Per metric: the epoch seconds of its last result on each day it reported, ascending. */
  results: ReadonlyMap<string, readonly number[]>;
}

export interface MonthlyAr {
  /** YYYY-MM */
  month: string;
  /** Percent; −1 undefined. */
  availability: number;
  reliability: number;
  /** Fraction of the month with UNKNOWN or MISSING status. */
  unknown: number;
}

export interface Snapshot {
  /** Epoch seconds. */
  takenAt: number;
  images: number;
  flavours: number;
}

/** The profiles in force on a day: service type of the aggregation profile → metrics expected; null when none. */
export type ExpectedMetrics = (day: number) => ReadonlyMap<string, readonly string[]> | null;

export interface SiteFacts {
  site: string;
  /** Epoch seconds of every receipt of accepted usage records, ascending. */
  receipts: readonly number[];
  /** Epoch seconds of every rejected record's reception, ascending. */
  rejections: readonly number[];
  /** Over the evidence window ending now: the VM-months whose kept record arrived in it, and their distinct VMs. */
  window: { records: number; vms: number };
  endpoints: readonly EndpointFacts[];
  /** Epoch seconds of the site's first probe result, if any. */
  firstResult: number | null;
  /** The site's monthly A/R, any order. */
  monthly: readonly MonthlyAr[];
  /** Collector snapshots (the GLUE 2.1 document's source), ascending by takenAt. */
  snapshots: readonly Snapshot[];
}

export interface Check {
  name: CheckName;
  passed: boolean;
  /** Some evidence exists for it (the site has begun this part). */
  started: boolean;
  /** Why it fails; empty when it passes. */
  reasons: string[];
}

export interface MetricEvidence {
  metric: string;
  lastResult: string | null;
  reporting: boolean;
}

export interface EndpointEvidence {
  hostname: string;
  service: string;
  counted: boolean;
  inProfile: boolean;
  metrics: MetricEvidence[];
}

export interface SiteIntegration {
  site: string;
  state: IntegrationState;
  /** The UTC day the site entered its state; null when nothing dates it (a site with no evidence at all). */
  since: string | null;
  checks: Check[];
  accounting: {
    recordsReceived: number;
    rejected: number;
    /** rejected / (received + rejected); null when neither. */
    rejectedShare: number | null;
    lastReceived: string | null;
    vmsAccounted: number;
  };
  monitoring: {
    endpoints: EndpointEvidence[];
    lastMonth: {
      month: string;
      availability: number | null;
      reliability: number | null;
      unknown: number | null;
      /** False when the site was not monitored from the month's first day: a new site is not judged on it. */
      assessed: boolean;
    };
  };
  information: { publishedAt: string | null; images: number; flavours: number };
}

/** The last value ≤ t of an ascending list, if any. */
function lastAtOrBefore(values: readonly number[], t: number): number | undefined {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? undefined : values[lo - 1];
}

const days = (seconds: number) => Math.floor(seconds / DAY);
const pct = (v: number) => `${v.toFixed(2)} %`;

export function accountingCheck(f: SiteFacts, t: number, rules: IntegrationRules): Check {
  const last = lastAtOrBefore(f.receipts, t);
  const started = last !== undefined || (f.rejections[0] ?? Infinity) <= t;
  const reasons: string[] = [];
  if (last === undefined)
    reasons.push(started ? 'every record received so far was rejected' : 'no usage record received');
  else if (t - last > rules.silentAfterDays * DAY)
    reasons.push(`silent for ${days(t - last)} days (last record received ${isoSeconds(last)})`);
  return { name: 'accounting', passed: reasons.length === 0, started, reasons };
}

/** The calendar month before the one `t` falls in, and its first second. */
function previousMonth(t: number): { month: string; start: number } {
  const start = DateTime.fromSeconds(t, { zone: 'utc' }).startOf('month').minus({ months: 1 });
  return { month: start.toFormat('yyyy-MM'), start: start.toSeconds() };
}

function lastMonthAr(f: SiteFacts, t: number): SiteIntegration['monitoring']['lastMonth'] {
  const { month, start } = previousMonth(t);
  const row = f.monthly.find((m) => m.month === month);
  const assessed = f.firstResult !== null && dayOf(f.firstResult) <= dayOf(start);
  return {
    month,
    availability: row && row.availability >= 0 ? row.availability : null,
    reliability: row && row.reliability >= 0 ? row.reliability : null,
    unknown: row ? 100 * row.unknown : null,
    assessed,
  };
}

function endpointEvidence(f: SiteFacts, t: number, expected: ExpectedMetrics, rules: IntegrationRules) {
  const inForce = expected(dayOf(t));
  const span = rules.probesSilentAfterHours * 3600;
  return f.endpoints.map((e): EndpointEvidence => {
    const metrics = inForce?.get(e.service);
    return {
      hostname: e.hostname,
      service: e.service,
      counted: e.counted,
      inProfile: metrics !== undefined,
      metrics: (metrics ?? [...e.results.keys()].sort()).map((metric) => {
        const last = lastAtOrBefore(e.results.get(metric) ?? [], t);
        return {
          metric,
          lastResult: last === undefined ? null : isoSeconds(last),
          reporting: last !== undefined && t - last <= span,
        };
      }),
    };
  });
}

export function monitoringCheck(f: SiteFacts, t: number, expected: ExpectedMetrics, rules: IntegrationRules): Check {
  const reasons: string[] = [];
  const evidence = endpointEvidence(f, t, expected, rules);
  const started = f.endpoints.length > 0 || (f.firstResult !== null && f.firstResult <= t);
  if (!f.endpoints.some((e) => e.cloud && e.counted))
    reasons.push('no VM-management endpoint registered in production and monitored');
  for (const [i, e] of evidence.entries()) {
    if (!e.counted) continue;
    const name = `${e.hostname} (${e.service})`;
    if (!e.inProfile) {
      if (f.endpoints[i]!.cloud) reasons.push(`${name} is not in the aggregation profile`);
      continue;
    }
    for (const m of e.metrics)
      if (!m.reporting)
        reasons.push(
          m.lastResult === null
            ? `${name}: no result for ${m.metric}`
            : `${name}: no result for ${m.metric} since ${m.lastResult}`,
        );
  }
  const ar = lastMonthAr(f, t);
  if (ar.assessed) {
    const { targets } = rules;
    if (ar.availability === null) reasons.push(`${ar.month}: availability undefined (no known status)`);
    else if (ar.availability < targets.availability)
      reasons.push(`${ar.month}: availability ${pct(ar.availability)} < ${targets.availability} %`);
    if (ar.reliability !== null && ar.reliability < targets.reliability)
      reasons.push(`${ar.month}: reliability ${pct(ar.reliability)} < ${targets.reliability} %`);
    if (ar.unknown !== null && ar.unknown > targets.unknown)
      reasons.push(`${ar.month}: unknown ${pct(ar.unknown)} > ${targets.unknown} %`);
  }
  return { name: 'monitoring', passed: reasons.length === 0, started, reasons };
}

function latestSnapshot(f: SiteFacts, t: number): Snapshot | undefined {
  let found: Snapshot | undefined;
  for (const s of f.snapshots) if (s.takenAt <= t) found = s;
  return found;
}

/**
 * The latest snapshot lists images and flavours. Its age is not judged: a collector appends a snapshot only when what
 * it sees changes, and whether the collector still runs is its reachability metric, which monitoring checks.
 */
export function informationCheck(f: SiteFacts, t: number): Check {
  const s = latestSnapshot(f, t);
  const reasons: string[] = [];
  if (!s) reasons.push('no GLUE 2.1 document published (no collector snapshot)');
  else {
    if (s.images === 0) reasons.push('GLUE 2.1 document lists no images');
    if (s.flavours === 0) reasons.push('GLUE 2.1 document lists no templates (flavours)');
  }
  return { name: 'information', passed: reasons.length === 0, started: s !== undefined, reasons };
}

export function checksAt(f: SiteFacts, t: number, expected: ExpectedMetrics, rules: IntegrationRules): Check[] {
  return [accountingCheck(f, t, rules), monitoringCheck(f, t, expected, rules), informationCheck(f, t)];
}

/**
 * The state after `previous` given the checks now: all passing is integrated; failing after having been
 * integrated is lapsed (until all pass again); otherwise partial once anything has begun, else not started.
 */
export function nextState(previous: IntegrationState, checks: readonly Check[]): IntegrationState {
  if (checks.every((c) => c.passed)) return 'integrated';
  if (previous === 'integrated' || previous === 'lapsed') return 'lapsed';
  return checks.some((c) => c.started || c.passed) ? 'partial' : 'not started';
}

/** The earliest instant any of the site's facts carries. */
function firstFact(f: SiteFacts): number | null {
  const candidates = [f.receipts[0], f.rejections[0], f.firstResult ?? undefined, f.snapshots[0]?.takenAt].filter(
    (v): v is number => v !== undefined,
  );
  return candidates.length ? Math.min(...candidates) : null;
}

/** Epoch seconds of the site's last usage receipt or probe result before `end`; null if none. */
export function lastActivity(f: SiteFacts, end: number): number | null {
  let last = lastAtOrBefore(f.receipts, end - 1) ?? null;
  for (const e of f.endpoints)
    for (const days of e.results.values()) {
      const t = lastAtOrBefore(days, end - 1);
      if (t !== undefined && (last === null || t > last)) last = t;
    }
  return last;
}

export interface StateChange {
  day: string;
  state: IntegrationState;
}

/** The site's state at the end of each day from its first fact, and at `now`: one entry per change, oldest first. */
export function stateHistory(
  f: SiteFacts,
  now: number,
  expected: ExpectedMetrics,
  rules: IntegrationRules = DEFAULT_RULES,
): StateChange[] {
  const first = firstFact(f);
  const today = dayOf(now);
  const history: StateChange[] = [];
  let state: IntegrationState = 'not started';
  const sample = (t: number, day: number) => {
    const next = nextState(state, checksAt(f, t, expected, rules));
    if (next !== state || history.length === 0) history.push({ day: dayName(day), state: next });
    state = next;
  };
  if (first !== null) for (let d = dayOf(first); d < today; d++) sample((d + 1) * DAY - 1, d);
  sample(now, today);
  return history;
}

/** The state at `day`'s end (YYYY-MM-DD) from a history; null before the site's first fact. */
export function stateOn(history: readonly StateChange[], day: string): IntegrationState | null {
  let state: IntegrationState | null = null;
  for (const h of history) if (h.day <= day) state = h.state;
  return state;
}

export function siteIntegration(
  f: SiteFacts,
  now: number,
  expected: ExpectedMetrics,
  rules: IntegrationRules = DEFAULT_RULES,
): SiteIntegration {
  const history = stateHistory(f, now, expected, rules);
  const current = history.at(-1)!;
  const since = current.state === 'not started' && firstFact(f) === null ? null : current.day;
  const windowStart = now - rules.windowDays * DAY;
  const rejected = f.rejections.filter((r) => r > windowStart && r <= now).length;
  const received = f.window.records;
  const snapshot = latestSnapshot(f, now);
  const last = lastAtOrBefore(f.receipts, now);
  return {
    site: f.site,
    state: current.state,
    since,
    checks: checksAt(f, now, expected, rules),
    accounting: {
      recordsReceived: received,
      rejected,
      rejectedShare: received + rejected === 0 ? null : rejected / (received + rejected),
      lastReceived: last === undefined ? null : isoSeconds(last),
      vmsAccounted: f.window.vms,
    },
    monitoring: { endpoints: endpointEvidence(f, now, expected, rules), lastMonth: lastMonthAr(f, now) },
    information: {
      publishedAt: snapshot ? isoSeconds(snapshot.takenAt) : null,
      images: snapshot?.images ?? 0,
      flavours: snapshot?.flavours ?? 0,
    },
  };
}

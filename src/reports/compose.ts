/**
 * Report content from the read models' query results. Pure: every input is
 * a plain value (summary rows, A/R rows, flags), so the rules below are
 * tested on hand-made inputs. See docs/reports.md for the definitions.
 */
import { DateTime } from 'luxon';
import { formatYearMonth, parseYearMonth } from '../accounting/measurement.ts';
import type { SummaryRow } from '../accounting/summary.ts';
import { stateOn, type StateChange } from '../integration/status.ts';
import type { Period } from './period.ts';
import { monthsOf, periodDays, previousPeriod, trailingMonths } from './period.ts';
import {
  DEFAULT_TARGETS,
  type Membership,
  type Participant,
  type ReportContent,
  type ResourceCentre,
  type SiteReport,
  type Targets,
  type UsageFigures,
} from './model.ts';

/** A site's A/R over a period, as `arReport` gives it: ratios in percent (−1 undefined), unknown as a fraction. */
export interface SiteAvailability {
  site: string;
  group: string | null;
  availability: number;
  reliability: number;
  unknown: number;
}

export interface ComposeInput {
  period: Period;
  position: bigint;
  targets?: Targets;
  /** Summary rows covering at least the previous period and the trailing year up to the period's end. */
  summaries: readonly SummaryRow[];
  availability: readonly SiteAvailability[];
  previousAvailability: readonly SiteAvailability[];
  threeMonthsUnder: ReadonlyArray<{ site: string; months: ReadonlyArray<{ month: string; availability: number }> }>;
  /** Sites with a cloud VM-management endpoint registered in production and monitored. */
  registeredSites: readonly string[];
  /** Per site that has published: epoch seconds of the last record received before the period's end. */
  lastReceived: ReadonlyArray<{ site: string; at: number }>;
  /** A publisher that sent nothing for this long before the period's end is silent. */
  silentAfterSeconds: number;
  quarantine: ReadonlyArray<{ siteName: string | null; receivedAt: string; resolution: string | null }>;
  /** Rejected probe-result lines and GOCDB elements or documents (`rejectedInputs` of the availability read model). */
  rejectedInputs: ReadonlyArray<{
    input: string;
    publisher: string;
    receivedAt: string;
    errors: ReadonlyArray<{ message: string }>;
  }>;
  flags: ReadonlyArray<{ kind: string; siteName: string; vmUuid: string; ym: number | null; detail: string }>;
  /** Per site: its integration states up to the period's last day, and its last usage receipt or probe result. */
  integration: readonly SiteParticipationInput[];
  /** Per VO: the first and last month with VM-months, up to the period's last month. */
  voUsageSpans: ReadonlyArray<{ vo: string; first: number; last: number }>;
}

export interface SiteParticipationInput {
  site: string;
  history: readonly StateChange[];
  /** Epoch seconds of its last usage receipt or probe result before the period's end; null if none. */
  lastActivity: number | null;
}

/**
 * What changed for a resource centre between the previous period's end and this one's: it left when it had begun and
 * sent neither usage nor probe results in the period; otherwise the state's move.
 */
export function participationChange(
  previous: Participant['state'] | null,
  current: Participant['state'],
  activeInPeriod: boolean,
): string {
  const before = previous ?? 'not started';
  if (before !== 'not started' && !activeInPeriod) return 'left';
  if (current === 'integrated' && before !== 'integrated')
    return before === 'not started' ? 'joined, completed integration' : 'completed integration';
  if (before === 'not started' && current !== 'not started') return 'joined';
  if (current === 'lapsed' && before === 'integrated') return 'lapsed';
  return '';
}

function participants(input: ComposeInput, previous: Period): Participant[] {
  const lastDay = input.period.end.minus({ days: 1 }).toISODate()!;
  const previousLastDay = previous.end.minus({ days: 1 }).toISODate()!;
  const start = input.period.start.toSeconds();
  return input.integration
    .map((s) => {
      const state = stateOn(s.history, lastDay) ?? 'not started';
      const entered = s.history.filter((h) => h.day <= lastDay).at(-1);
      return {
        site: s.site,
        state,
        since: s.lastActivity === null && state === 'not started' ? null : (entered?.day ?? null),
        change: participationChange(
          stateOn(s.history, previousLastDay),
          state,
          s.lastActivity !== null && s.lastActivity >= start,
        ),
      };
    })
    .sort((a, b) => byName(a.site, b.site));
}

const HOUR = 3600;
const UNKNOWN_SITE = '(unknown)';
const NO_VO = '(none)';

const zero = (): UsageFigures => ({ vms: 0, wallHours: 0, cpuCoreHours: 0 });

/** Adds one summary row to running figures; rows without CpuCount add no CPU-core hours. */
function add(f: UsageFigures, r: SummaryRow): void {
  const wall = (r.wallDuration ?? 0) / HOUR;
  f.vms += r.numberOfVms;
  f.wallHours += wall;
  f.cpuCoreHours += wall * (r.cpuCount ?? 0);
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sorted = (names: Iterable<string>) => [...new Set(names)].sort(byName);

function membership(current: Iterable<string>, previous: Iterable<string>): Membership {
  const now = new Set(current);
  const before = new Set(previous);
  return {
    active: sorted(now),
    joined: sorted([...now].filter((n) => !before.has(n))),
    left: sorted([...before].filter((n) => !now.has(n))),
  };
}

const defined = (value: number) => (value < 0 ? null : value);

/** The sites' reasons for missing the OLA targets over the period. */
export function shortfalls(a: SiteAvailability | undefined, targets: Targets): string[] {
  if (!a) return ['not monitored in the period'];
  const out: string[] = [];
  const pct = (v: number) => `${v.toFixed(2)} %`;
  if (a.availability < 0) out.push('availability undefined (no known status)');
  else if (a.availability < targets.availability)
    out.push(`availability ${pct(a.availability)} < ${targets.availability} %`);
  if (a.reliability >= 0 && a.reliability < targets.reliability)
    out.push(`reliability ${pct(a.reliability)} < ${targets.reliability} %`);
  if (100 * a.unknown > targets.unknown) out.push(`unknown ${pct(100 * a.unknown)} > ${targets.unknown} %`);
  return out;
}

/** A site counts as monitored when some of the period had a known status. */
const monitored = (a: SiteAvailability | undefined) => a !== undefined && a.unknown < 1;

export function composeReport(input: ComposeInput): ReportContent {
  const { period } = input;
  const targets = input.targets ?? DEFAULT_TARGETS;
  const previous = previousPeriod(period);
  const months = new Set(monthsOf(period).map((m) => parseYearMonth(m)!));
  const previousMonths = new Set(monthsOf(previous).map((m) => parseYearMonth(m)!));
  const ym = (r: SummaryRow) => r.year * 100 + r.month;

  const totals = { current: zero(), previous: zero() };
  const siteUsage = new Map<string, UsageFigures>();
  const voUsage = new Map<string, { usage: UsageFigures; sites: Set<string> }>();
  const publishers = { current: new Set<string>(), previous: new Set<string>() };
  const communities = { current: new Set<string>(), previous: new Set<string>() };
  const monthly = new Map(trailingMonths(period, 12).map((m) => [parseYearMonth(m)!, zero()]));
  let firstData = Infinity;
  for (const r of input.summaries) {
    const month = ym(r);
    const trailing = monthly.get(month);
    if (trailing) add(trailing, r);
    firstData = Math.min(firstData, month);
    if (previousMonths.has(month)) {
      add(totals.previous, r);
      if (r.numberOfVms > 0) {
        publishers.previous.add(r.siteName);
        if (r.vo !== null) communities.previous.add(r.vo);
      }
    }
    if (!months.has(month)) continue;
    add(totals.current, r);
    let site = siteUsage.get(r.siteName);
    if (!site) siteUsage.set(r.siteName, (site = zero()));
    add(site, r);
    const vo = r.vo ?? NO_VO;
    let v = voUsage.get(vo);
    if (!v) voUsage.set(vo, (v = { usage: zero(), sites: new Set() }));
    add(v.usage, r);
    v.sites.add(r.siteName);
    if (r.numberOfVms > 0) {
      publishers.current.add(r.siteName);
      if (r.vo !== null) communities.current.add(r.vo);
    }
  }

  const availability = new Map(input.availability.map((a) => [a.site, a]));
  const previousAvailability = new Map(input.previousAvailability.map((a) => [a.site, a]));
  const registered = new Set(input.registeredSites);
  const sites: SiteReport[] = sorted([...siteUsage.keys(), ...availability.keys(), ...registered]).map((site) => {
    const a = availability.get(site);
    return {
      site,
      ngi: a?.group ?? null,
      usage: siteUsage.get(site) ?? zero(),
      availability: a ? defined(a.availability) : null,
      reliability: a ? defined(a.reliability) : null,
      unknown: a ? 100 * a.unknown : null,
      shortfalls: shortfalls(a, targets),
    };
  });

  const centre = (site: string, usage: Set<string>, ar: Map<string, SiteAvailability>): ResourceCentre => {
    const c = {
      site,
      registered: registered.has(site),
      monitored: monitored(ar.get(site)),
      published: usage.has(site),
    };
    return { ...c, active: c.registered && c.monitored && c.published };
  };
  const candidates = sorted([...registered, ...publishers.current, ...publishers.previous, ...availability.keys()]);
  const resourceCentres = candidates.map((s) => centre(s, publishers.current, availability));
  const previouslyActive = candidates.filter((s) => centre(s, publishers.previous, previousAvailability).active);

  const end = period.end.toSeconds();
  const lastReceived = new Map(input.lastReceived.map((l) => [l.site, l.at]));
  const silentPublishers = sorted([...registered, ...publishers.previous])
    .filter((site) => (lastReceived.get(site) ?? -Infinity) < end - input.silentAfterSeconds)
    .map((site) => {
      const at = lastReceived.get(site);
      return {
        site,
        lastReceived:
          at === undefined ? null : DateTime.fromSeconds(at, { zone: 'utc' }).toISO({ suppressMilliseconds: true })!,
      };
    });

  const start = period.start.toMillis();
  const quarantine = new Map<string, { rejected: number; unresolved: number }>();
  for (const q of input.quarantine) {
    const at = Date.parse(q.receivedAt);
    if (at < start || at >= period.end.toMillis()) continue;
    const site = q.siteName ?? UNKNOWN_SITE;
    let c = quarantine.get(site);
    if (!c) quarantine.set(site, (c = { rejected: 0, unresolved: 0 }));
    c.rejected += 1;
    if (q.resolution === null) c.unresolved += 1;
  }

  const rejectedInputs = new Map<string, { input: string; publisher: string; rejected: number; firstError: string }>();
  for (const r of input.rejectedInputs) {
    const at = Date.parse(r.receivedAt);
    if (at < start || at >= period.end.toMillis()) continue;
    const key = `${r.input}\u0000${r.publisher}`;
    const c = rejectedInputs.get(key);
    if (c) c.rejected += 1;
    else
      rejectedInputs.set(key, {
        input: r.input,
        publisher: r.publisher,
        rejected: 1,
        firstError: r.errors[0]?.message ?? '',
      });
  }

  const negativeDifferences = input.flags
    .filter((f) => f.kind === 'negative_difference' && f.ym !== null && months.has(f.ym))
    .map((f) => ({ site: f.siteName, vmUuid: f.vmUuid, month: formatYearMonth(f.ym!), detail: f.detail }))
    .sort((a, b) => byName(a.site, b.site) || byName(a.month, b.month) || byName(a.vmUuid, b.vmUuid));

  return {
    period: { name: period.name, kind: period.kind, ...periodDays(period), months: monthsOf(period) },
    previousPeriod: previous.name,
    position: input.position.toString(),
    targets,
    totals,
    // Months before the first data would read as months without usage; the period's own months always show.
    monthly: [...monthly]
      .filter(([m]) => m >= firstData || months.has(m))
      .map(([m, f]) => ({ month: formatYearMonth(m), ...f })),
    sites,
    threeMonthsUnder: input.threeMonthsUnder
      .map((t) => ({ site: t.site, months: t.months.map((m) => ({ month: m.month, availability: m.availability })) }))
      .sort((a, b) => byName(a.site, b.site)),
    communities: [...voUsage]
      .map(([vo, v]) => ({ vo, sites: v.sites.size, ...v.usage }))
      .sort((a, b) => b.cpuCoreHours - a.cpuCoreHours || b.wallHours - a.wallHours || byName(a.vo, b.vo)),
    resourceCentres,
    activeSites: membership(
      resourceCentres.filter((c) => c.active).map((c) => c.site),
      previouslyActive,
    ),
    activeCommunities: membership(communities.current, communities.previous),
    participants: participants(input, previous),
    userCommunities: sorted(communities.current).map((vo) => {
      const span = input.voUsageSpans.find((v) => v.vo === vo);
      const usage = voUsage.get(vo)!;
      return {
        vo,
        firstUsage: span ? formatYearMonth(span.first) : '',
        lastUsage: span ? formatYearMonth(span.last) : '',
        sites: sorted(usage.sites),
        vmHours: usage.usage.wallHours,
      };
    }),
    dataQuality: {
      silentPublishers,
      quarantine: [...quarantine].map(([site, c]) => ({ site, ...c })).sort((a, b) => byName(a.site, b.site)),
      rejectedInputs: [...rejectedInputs.values()].sort(
        (a, b) => byName(a.input, b.input) || byName(a.publisher, b.publisher),
      ),
      negativeDifferences,
    },
  };
}

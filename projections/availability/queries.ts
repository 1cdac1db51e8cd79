/**
 * Read queries over the `availability` read model, as plain typed functions
 * the GraphQL resolvers and the CLI call. `now` is passed in: today covers
 * only its elapsed part, and days after today are not reported. A known
 * endpoint or site without a stored day is MISSING all that day.
 */
import type Database from 'better-sqlite3';
import { DateTime } from 'luxon';
import { UserError } from '../../src/errors.ts';
import type { EventData, RecordError } from '../../src/events/catalogue.ts';
import {
  type Ratios,
  type Seconds,
  addSeconds,
  meanDefined,
  ratios,
  secondsOf,
  zeroSeconds,
} from '../../src/availability/ar.ts';
import { DAY, dayName, dayOf, parseDay } from '../../src/availability/days.ts';
import type { ProfileSet, State } from '../../src/availability/profiles.ts';
import { DAY_SECONDS, stateAt } from '../../src/availability/timeline.ts';
import { isoSeconds } from '../../src/instant.ts';
import { profileResolver } from './profiles.ts';
import { decodeTimeline } from './schema.ts';

/**
 * endpoint (hostname + service), service (type within a site), function (a function group of the aggregation
 * profile within a site, e.g. `cloud`), site, group (of sites: the NGI).
 */
export type Level = 'endpoint' | 'service' | 'function' | 'site' | 'group';
export const LEVELS: readonly Level[] = ['endpoint', 'service', 'function', 'site', 'group'];
export type Granularity = 'daily' | 'monthly' | 'range';

export interface ArRow extends Ratios {
  /** YYYY-MM-DD (daily), YYYY-MM (monthly), or `from/to` (range). */
  date: string;
  level: Level;
  site: string | null;
  /** The function group, on function rows. */
  function: string | null;
  service: string | null;
  hostname: string | null;
  group: string | null;
  /** Fractions of the period (of its elapsed part, for today). */
  up: number;
  unknown: number;
  down: number;
  /** Summed seconds; null for groups, whose values are means of their sites'. */
  seconds: Seconds | null;
}

export interface ArQuery {
  from: string;
  to: string;
  granularity: Granularity;
  now: Date;
  levels?: readonly Level[];
  site?: string;
  group?: string;
  service?: string;
  hostname?: string;
}

interface Entity {
  level: Exclude<Level, 'group'>;
  key: string;
  site: string | null;
  function: string | null;
  service: string | null;
  hostname: string | null;
  group: string | null;
}

interface QueryDays {
  /** Days of the query that are not in the future and have profiles in force (none: nothing is expected). */
  days: number[];
  today: number;
  /** Elapsed seconds of today. */
  elapsed: number;
  /** The profiles in force on one of `days`. */
  profiles: (day: number) => ProfileSet;
}

function daysOf(db: Database.Database, from: string, to: string, now: Date): QueryDays {
  const first = parseDay(from, 'from');
  const last = parseDay(to, 'to');
  if (last < first) throw new UserError('INVALID_RANGE', `to (${to}) is before from (${from})`, { field: 'to' });
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const today = dayOf(nowSeconds);
  const resolve = profileResolver(db);
  const days: number[] = [];
  for (let d = first; d <= Math.min(last, today); d++) if (resolve(d) !== null) days.push(d);
  return { days, today, elapsed: nowSeconds - today * DAY, profiles: (day) => resolve(day)! };
}

interface StoredDay {
  /** Null except for today (see `storedDays`). */
  timeline: string | null;
  up: number;
  unknown: number;
  down: number;
  critical: number;
  total: number;
}

function entities(db: Database.Database, q: Pick<ArQuery, 'site' | 'group' | 'service' | 'hostname'>): Entity[] {
  const out: Entity[] = [];
  const endpoints = db
    .prepare(
      `SELECT e.id, e.hostname, e.service, e.site, s.ngi FROM endpoints e LEFT JOIN sites s ON s.name = e.site
       WHERE EXISTS (SELECT 1 FROM endpoint_days d WHERE d.endpoint = e.id) ORDER BY e.site, e.service, e.hostname`,
    )
    .all() as Array<{ id: number; hostname: string; service: string; site: string | null; ngi: string | null }>;
  for (const e of endpoints)
    out.push({
      level: 'endpoint',
      key: `e${e.id}`,
      site: e.site,
      function: null,
      service: e.service,
      hostname: e.hostname,
      group: e.ngi,
    });
  const levels = db
    .prepare(
      `SELECT DISTINCT l.level, l.site, l.name, s.ngi FROM level_days l LEFT JOIN sites s ON s.name = l.site
       WHERE l.level IN ('service', 'function', 'site') ORDER BY l.site, l.level, l.name`,
    )
    .all() as Array<{ level: 'service' | 'function' | 'site'; site: string; name: string; ngi: string | null }>;
  for (const l of levels)
    out.push({
      level: l.level,
      key: `${l.level}\u0000${l.site}\u0000${l.name}`,
      site: l.site,
      function: l.level === 'function' ? l.name : null,
      service: l.level === 'service' ? l.name : null,
      hostname: null,
      group: l.ngi,
    });
  return out.filter(
    (e) =>
      (q.site === undefined || e.site === q.site) &&
      (q.group === undefined || e.group === q.group) &&
      (q.service === undefined || e.service === q.service) &&
      (q.hostname === undefined || e.hostname === q.hostname),
  );
}

/**
 * Stored days of the period by entity key, narrowed to one site when the query names one (a dashboard polls
 * its own site). Timelines are read for today only: past days carry their seconds.
 */
function storedDays(
  db: Database.Database,
  firstDay: string,
  lastDay: string,
  today: string,
  site: string | undefined,
): Map<string, Map<string, StoredDay>> {
  const out = new Map<string, Map<string, StoredDay>>();
  const put = (key: string, day: string, row: StoredDay) => {
    let m = out.get(key);
    if (!m) out.set(key, (m = new Map()));
    m.set(day, row);
  };
  const oneSite = site ?? null;
  for (const r of db
    .prepare(
      `SELECT endpoint, day, CASE WHEN day = @today THEN timeline END AS timeline, up, unknown, down, critical, total
       FROM endpoint_days WHERE day BETWEEN @firstDay AND @lastDay
       AND (@oneSite IS NULL OR endpoint IN (SELECT id FROM endpoints WHERE site = @oneSite))`,
    )
    .all({ firstDay, lastDay, today, oneSite }) as Array<StoredDay & { endpoint: number; day: string }>)
    put(`e${r.endpoint}`, r.day, r);
  for (const r of db
    .prepare(
      `SELECT level, site, name, day, CASE WHEN day = @today THEN timeline END AS timeline, up, unknown, down, critical, total
       FROM level_days WHERE level IN ('service', 'function', 'site') AND day BETWEEN @firstDay AND @lastDay
       AND (@oneSite IS NULL OR site = @oneSite)`,
    )
    .all({ firstDay, lastDay, today, oneSite }) as Array<
    StoredDay & { level: string; site: string; name: string; day: string }
  >)
    put(`${r.level}\u0000${r.site}\u0000${r.name}`, r.day, r);
  return out;
}

function periodOf(day: number, q: ArQuery): string {
  if (q.granularity === 'daily') return dayName(day);
  if (q.granularity === 'monthly') return dayName(day).slice(0, 7);
  return `${q.from}/${q.to}`;
}

const fraction = (part: number, total: number) => (total > 0 ? part / total : 0);

/** The mean of rows' figures, as a group of sites takes them: ratios over the defined ones only. */
function meanFigures(list: readonly ArRow[]): Pick<ArRow, 'availability' | 'reliability' | 'up' | 'unknown' | 'down'> {
  const mean = (f: (r: ArRow) => number) => list.reduce((a, r) => a + f(r), 0) / list.length;
  return {
    availability: meanDefined(list.map((r) => r.availability)),
    reliability: meanDefined(list.map((r) => r.reliability)),
    up: mean((r) => r.up),
    unknown: mean((r) => r.unknown),
    down: mean((r) => r.down),
  };
}

/**
 * Daily, monthly or custom-range A/R for endpoints, services, function groups, sites and groups of sites. A query for
 * one site has no group rows: a group of sites is the mean of all its sites.
 */
export function arReport(db: Database.Database, q: ArQuery): ArRow[] {
  const levels = (q.levels ?? LEVELS).filter((l) => q.site === undefined || l !== 'group');
  const { days, today, elapsed, profiles } = daysOf(db, q.from, q.to, q.now);
  if (days.length === 0) return [];
  const stored = storedDays(db, dayName(days[0]!), dayName(days[days.length - 1]!), dayName(today), q.site);
  const rows: ArRow[] = [];
  // Site values per (site, day) feed the groups of sites.
  const siteDaily = new Map<string, Map<number, ArRow>>();
  const wantSites = levels.includes('site') || levels.includes('group');
  for (const e of entities(db, q)) {
    const wanted = levels.includes(e.level);
    if (!wanted && !(e.level === 'site' && wantSites)) continue;
    const byDay = stored.get(e.key);
    const periods = new Map<string, Seconds>();
    for (const day of days) {
      const until = day === today ? elapsed : DAY_SECONDS;
      const row = byDay?.get(dayName(day));
      let s: Seconds;
      if (!row) s = { ...zeroSeconds(), unknown: until, total: until };
      else if (day === today)
        s = secondsOf(decodeTimeline(row.timeline!), profiles(day).operations.profile.defaults, until);
      else s = { up: row.up, unknown: row.unknown, down: row.down, critical: row.critical, total: row.total };
      const period = periodOf(day, q);
      periods.set(period, addSeconds(periods.get(period) ?? zeroSeconds(), s));
      if (e.level === 'site' && levels.includes('group')) {
        let m = siteDaily.get(e.site!);
        if (!m) siteDaily.set(e.site!, (m = new Map()));
        m.set(day, toRow(dayName(day), e, s));
      }
    }
    if (wanted) for (const [period, s] of periods) rows.push(toRow(period, e, s));
  }
  if (levels.includes('group')) rows.push(...groupRows(db, q, days, siteDaily));
  return rows;
}

function toRow(date: string, e: Omit<Entity, 'key'>, s: Seconds): ArRow {
  return {
    date,
    level: e.level,
    site: e.site,
    function: e.function,
    service: e.service,
    hostname: e.hostname,
    group: e.group,
    ...ratios(s),
    up: fraction(s.up, s.total),
    unknown: fraction(s.unknown, s.total),
    down: fraction(s.down, s.total),
    seconds: s,
  };
}

/** A group's day is the mean of its sites' defined daily values; its period the mean of its defined days. */
function groupRows(
  db: Database.Database,
  q: ArQuery,
  days: number[],
  siteDaily: Map<string, Map<number, ArRow>>,
): ArRow[] {
  const ngis = new Map<string, string[]>();
  for (const { name, ngi } of db.prepare('SELECT name, ngi FROM sites WHERE ngi IS NOT NULL').all() as Array<{
    name: string;
    ngi: string;
  }>) {
    if (!siteDaily.has(name)) continue;
    ngis.set(ngi, [...(ngis.get(ngi) ?? []), name]);
  }
  const rows: ArRow[] = [];
  for (const [ngi, sites] of [...ngis].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (q.group !== undefined && q.group !== ngi) continue;
    const periods = new Map<string, ArRow[]>();
    for (const day of days) {
      const siteRows = sites.map((s) => siteDaily.get(s)!.get(day)!);
      const daily: ArRow = {
        date: dayName(day),
        level: 'group',
        site: null,
        function: null,
        service: null,
        hostname: null,
        group: ngi,
        ...meanFigures(siteRows),
        seconds: null,
      };
      const period = periodOf(day, q);
      periods.set(period, [...(periods.get(period) ?? []), daily]);
    }
    for (const [period, list] of periods) {
      if (q.granularity === 'daily') {
        rows.push(list[0]!);
        continue;
      }
      rows.push({ ...list[0]!, date: period, ...meanFigures(list) });
    }
  }
  return rows;
}

export interface StatusPoint {
  /** ISO instant; the last point closes the range at T23:59:59Z of its last day, or at now. */
  timestamp: string;
  status: State;
}

export interface StatusTimeline {
  level: Exclude<Level, 'group'>;
  site: string | null;
  service: string | null;
  hostname: string | null;
  /** The function group, for level function. */
  name: string | null;
  statuses: StatusPoint[];
}

/** A stored day's timeline with the names of what it belongs to (null where the level has none). */
interface TimelineRow {
  hostname: string | null;
  service: string | null;
  site: string | null;
  name: string | null;
  day: string;
  timeline: string;
}

/** Status timelines over whole UTC days, per endpoint, service, function group or site. */
export function statusTimelines(
  db: Database.Database,
  q: {
    from: string;
    to: string;
    now: Date;
    level: StatusTimeline['level'];
    site?: string;
    service?: string;
    hostname?: string;
  },
): StatusTimeline[] {
  const { days, today, elapsed, profiles } = daysOf(db, q.from, q.to, q.now);
  if (days.length === 0) return [];
  const first = dayName(days[0]!);
  const last = dayName(days[days.length - 1]!);
  const rows =
    q.level === 'endpoint'
      ? (db
          .prepare(
            `SELECT e.hostname, e.service, e.site, NULL AS name, d.day, d.timeline FROM endpoint_days d JOIN endpoints e ON e.id = d.endpoint
             WHERE d.day BETWEEN ? AND ? ORDER BY e.site, e.service, e.hostname, d.day`,
          )
          .all(first, last) as TimelineRow[])
      : (db
          .prepare(
            `SELECT NULL AS hostname, CASE level WHEN 'service' THEN name END AS service, site, CASE level WHEN 'function' THEN name END AS name, day, timeline
             FROM level_days WHERE level = ? AND day BETWEEN ? AND ? ORDER BY site, name, day`,
          )
          .all(q.level, first, last) as TimelineRow[]);
  const out = new Map<string, { t: StatusTimeline; byDay: Map<string, string> }>();
  for (const r of rows) {
    if (
      (q.site !== undefined && r.site !== q.site) ||
      (q.service !== undefined && r.service !== q.service) ||
      (q.hostname !== undefined && r.hostname !== q.hostname)
    )
      continue;
    const key = `${r.site}\u0000${r.service}\u0000${r.hostname}\u0000${r.name}`;
    let entry = out.get(key);
    if (!entry)
      out.set(
        key,
        (entry = {
          t: { level: q.level, site: r.site, service: r.service, hostname: r.hostname, name: r.name, statuses: [] },
          byDay: new Map(),
        }),
      );
    entry.byDay.set(r.day, r.timeline);
  }
  for (const { t, byDay } of out.values()) {
    for (const day of days) {
      const stored = byDay.get(dayName(day));
      const timeline = stored
        ? decodeTimeline(stored)
        : [{ at: 0, state: profiles(day).operations.profile.defaults.missing }];
      const until = day === today ? elapsed : DAY_SECONDS;
      for (const p of timeline) {
        if (p.at >= until) break;
        const previous = t.statuses[t.statuses.length - 1];
        if (!previous || previous.status !== p.state)
          t.statuses.push({ timestamp: isoSeconds(day * DAY + p.at), status: p.state });
      }
    }
    const lastDay = days[days.length - 1]!;
    const end = lastDay === today ? lastDay * DAY + elapsed : (lastDay + 1) * DAY - 1;
    t.statuses.push({ timestamp: isoSeconds(end), status: t.statuses[t.statuses.length - 1]!.status });
  }
  return [...out.values()].map((e) => e.t);
}

export interface LatestStatus {
  site: string | null;
  service: string | null;
  hostname: string | null;
  status: State;
  /** When this status began, within today (ISO instant). */
  since: string;
}

/** The status at `now` of every endpoint and every site. */
export function latestStatuses(db: Database.Database, now: Date): { endpoints: LatestStatus[]; sites: LatestStatus[] } {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const today = dayOf(nowSeconds);
  const at = nowSeconds - today * DAY;
  const profiles = profileResolver(db)(today);
  if (profiles === null) return { endpoints: [], sites: [] };
  const missing = profiles.operations.profile.defaults.missing;
  const statusOf = (timeline: string | null) => {
    if (timeline === null) return { status: missing, since: isoSeconds(today * DAY) };
    const t = decodeTimeline(timeline);
    const state = stateAt(t, at);
    const since = [...t].reverse().find((p) => p.at <= at)!.at;
    return { status: state, since: isoSeconds(today * DAY + since) };
  };
  const endpoints = (
    db
      .prepare(
        `SELECT e.hostname, e.service, e.site, d.timeline FROM endpoints e LEFT JOIN endpoint_days d ON d.endpoint = e.id AND d.day = ?
         WHERE EXISTS (SELECT 1 FROM endpoint_days x WHERE x.endpoint = e.id) ORDER BY e.site, e.service, e.hostname`,
      )
      .all(dayName(today)) as Array<{ hostname: string; service: string; site: string | null; timeline: string | null }>
  ).map((r) => ({ site: r.site, service: r.service, hostname: r.hostname, ...statusOf(r.timeline) }));
  const sites = (
    db
      .prepare(
        `SELECT s.site, d.timeline FROM (SELECT DISTINCT site FROM level_days WHERE level = 'site') s
         LEFT JOIN level_days d ON d.level = 'site' AND d.site = s.site AND d.name = '' AND d.day = ? ORDER BY s.site`,
      )
      .all(dayName(today)) as Array<{ site: string; timeline: string | null }>
  ).map((r) => ({ site: r.site, service: null, hostname: null, ...statusOf(r.timeline) }));
  return { endpoints, sites };
}

export interface RejectedInput {
  input: EventData<'InputRejected'>['input'];
  sourceMessageId: string;
  /** 1-based line or element index; null for a source rejected as a whole. */
  line: number | null;
  errors: RecordError[];
  receivedAt: string;
  publisher: string;
}

/** Rejected probe-result lines and GOCDB elements or documents, received in [from, to) (ISO instants) when given. */
export function rejectedInputs(db: Database.Database, range: { from?: string; to?: string } = {}): RejectedInput[] {
  const rows = db
    .prepare(
      `SELECT source_message_id, line, input, errors, received_at, publisher FROM rejected_inputs
       WHERE (@from IS NULL OR received_at >= @from) AND (@to IS NULL OR received_at < @to)
       ORDER BY received_at, source_message_id, line`,
    )
    .all({ from: range.from ?? null, to: range.to ?? null }) as Array<{
    source_message_id: string;
    line: number;
    input: RejectedInput['input'];
    errors: string;
    received_at: string;
    publisher: string;
  }>;
  return rows.map((r) => ({
    input: r.input,
    sourceMessageId: r.source_message_id,
    line: r.line === 0 ? null : r.line,
    errors: JSON.parse(r.errors) as RecordError[],
    receivedAt: r.received_at,
    publisher: r.publisher,
  }));
}

/** EGI's Resource Centre OLA targets, in percent. */
export const OLA_TARGETS = { availability: 80, reliability: 85 } as const;

function monthRange(month: string): { from: string; to: string } {
  const start = DateTime.fromFormat(month, 'yyyy-MM', { zone: 'utc' });
  if (!start.isValid)
    throw new UserError('INVALID_MONTH', `month must be YYYY-MM, got ${JSON.stringify(month)}`, { field: 'month' });
  return { from: start.toISODate()!, to: start.endOf('month').toISODate()! };
}

function monthlySites(db: Database.Database, month: string, now: Date): ArRow[] {
  return arReport(db, { ...monthRange(month), granularity: 'monthly', now, levels: ['site'] });
}

/** Sites whose defined monthly availability or reliability is below the targets. */
export function sitesUnderOla(
  db: Database.Database,
  month: string,
  now: Date,
  targets: { availability: number; reliability: number } = OLA_TARGETS,
): ArRow[] {
  return monthlySites(db, month, now).filter(
    (r) =>
      (r.availability >= 0 && r.availability < targets.availability) ||
      (r.reliability >= 0 && r.reliability < targets.reliability),
  );
}

/** Sites whose availability was defined and below `threshold` in `month` and the two months before it. */
export function sitesUnderThreeMonths(
  db: Database.Database,
  month: string,
  now: Date,
  threshold = 80,
): Array<{ site: string; group: string | null; months: ArRow[] }> {
  const start = DateTime.fromFormat(month, 'yyyy-MM', { zone: 'utc' });
  if (!start.isValid)
    throw new UserError('INVALID_MONTH', `month must be YYYY-MM, got ${JSON.stringify(month)}`, { field: 'month' });
  const months = [2, 1, 0].map((k) => start.minus({ months: k }).toFormat('yyyy-MM'));
  const perMonth = months.map((m) => new Map(monthlySites(db, m, now).map((r) => [r.site!, r])));
  const out: Array<{ site: string; group: string | null; months: ArRow[] }> = [];
  for (const [site, row] of perMonth[2]!) {
    const rows = perMonth.map((m) => m.get(site));
    if (rows.every((r) => r !== undefined && r.availability >= 0 && r.availability < threshold))
      out.push({ site, group: row.group, months: rows as ArRow[] });
  }
  return out;
}

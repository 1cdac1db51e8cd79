/**
 * The `availability` projection: probe results, topology, downtimes,
 * profiles and rejected availability inputs, and per UTC day the timelines and seconds of every endpoint,
 * service, function group and site. Events only record facts and mark
 * (endpoint, day) pairs dirty; the end of each batch recomputes each dirty day once, then the site levels of the days that changed. A result changes
 * its day and the next one (which starts from it); a downtime changes the
 * days it covers; a profile every day from its date on.
 *
 * While the runner knows more events are waiting (ctx.atHead false), an
 * endpoint's days from the latest one it has results for are put off
 * (`deferred_days`, committed with the batch): results fed in time order
 * would otherwise recompute every endpoint's current day in every batch
 * from all its results so far. They are recomputed once a later day has
 * results, or at the head.
 */
import type Database from 'better-sqlite3';
import { endpointDay, lastStatuses, siteDay, type MetricDay } from '../../src/availability/aggregate.ts';
import { secondsOf } from '../../src/availability/ar.ts';
import { DAY, dayName, dayOf } from '../../src/availability/days.ts';
import { coveredUntil, downtimeIntervals, type Downtime } from '../../src/availability/downtimes.ts';
import type { ProfileSet } from '../../src/availability/profiles.ts';
import { constant, type Point, type Timeline } from '../../src/availability/timeline.ts';
import { parseProfileObject } from '../../src/ingest/profiles.ts';
import type { EventData } from '../../src/events/catalogue.ts';
import type { ApplyContext, AppliedEvent, Projection } from '../../src/projection/projection.ts';
import { profilesForDay, type StoredProfile, storedProfiles } from './profiles.ts';
import { decodeTimeline, encodeTimeline, SCHEMA } from './schema.ts';

/** A day's stored columns: the encoded timeline and its seconds. */
function storedDay(timeline: Timeline, profiles: ProfileSet) {
  const { up, unknown, down, critical, total } = secondsOf(timeline, profiles.operations.profile.defaults);
  return { timeline: encodeTimeline(timeline), up, unknown, down, critical, total };
}

/** The projection on one opened file: prepared statements, caches of what the file holds, and the batch's dirty sets. */
class Model {
  private readonly endpointIds = new Map<string, number>();
  private readonly endpointInfo = new Map<
    number,
    { hostname: string; service: string; site: string | null; counted: boolean }
  >();
  private readonly metricIds = new Map<string, number>();
  private readonly metricNames = new Map<number, string>();
  private readonly stored: StoredProfile[];
  private readonly profileCache = new Map<string, ProfileSet | null>();
  /** endpoint id → dirty day numbers */
  private readonly dirty = new Map<number, Set<number>>();
  /** site → day numbers whose site levels must be recomputed */
  private readonly dirtySites = new Map<string, Set<number>>();
  /** endpoint → day numbers put off, as in deferred_days */
  private deferred: Map<number, Set<number>>;
  /** endpoint → the latest day it has results for (read from `results` on first need) */
  private readonly latestDays = new Map<number, number>();
  private readonly s;

  constructor(private readonly db: Database.Database) {
    this.s = {
      insertEndpoint: db.prepare('INSERT INTO endpoints (hostname, service) VALUES (?, ?)'),
      setEndpointSite: db.prepare('UPDATE endpoints SET site = ?, counted = ? WHERE id = ?'),
      insertMetric: db.prepare('INSERT INTO metrics (name) VALUES (?)'),
      insertResult: db.prepare('INSERT OR IGNORE INTO results (endpoint, ts, metric, status) VALUES (?, ?, ?, ?)'),
      results: db
        .prepare(
          'SELECT ts, metric, status FROM results WHERE endpoint = ? AND ts >= ? AND ts < ? ORDER BY ts, metric, status',
        )
        .raw(),
      endpointDays: db.prepare('SELECT day FROM endpoint_days WHERE endpoint = ?').pluck(),
      upsertSite: db.prepare(
        'INSERT INTO sites (name, ngi, country) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET ngi = coalesce(excluded.ngi, ngi), country = coalesce(excluded.country, country)',
      ),
      ensureSite: db.prepare(
        'INSERT INTO sites (name, ngi, country) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET ngi = coalesce(ngi, excluded.ngi), country = coalesce(country, excluded.country)',
      ),
      downtime: db.prepare('SELECT classification, severity, start, end FROM downtimes WHERE id = ?'),
      downtimeEndpoints: db.prepare('SELECT hostname, service FROM downtime_endpoints WHERE downtime = ?'),
      deleteDowntime: db.prepare('DELETE FROM downtimes WHERE id = ?'),
      deleteDowntimeEndpoints: db.prepare('DELETE FROM downtime_endpoints WHERE downtime = ?'),
      insertDowntime: db.prepare(
        'INSERT INTO downtimes (id, site, classification, severity, start, end, description) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      insertDowntimeEndpoint: db.prepare(
        'INSERT OR IGNORE INTO downtime_endpoints (hostname, service, downtime) VALUES (?, ?, ?)',
      ),
      endpointDowntimes: db.prepare(
        `SELECT d.classification, d.severity, d.start, d.end FROM downtime_endpoints de JOIN downtimes d ON d.id = de.downtime
         WHERE de.hostname = ? AND de.service = ? AND d.start < ? AND d.end + 60 > ?`,
      ),
      upsertProfile: db.prepare(
        'INSERT INTO profiles (kind, name, effective_from, position, body) VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, name, effective_from) DO UPDATE SET position = excluded.position, body = excluded.body',
      ),
      resultDaysFrom: db.prepare('SELECT DISTINCT endpoint, ts / 86400 FROM results WHERE ts >= ?').raw(),
      latestResult: db.prepare('SELECT max(ts) FROM results WHERE endpoint = ?').pluck(),
      deferredDays: db.prepare('SELECT endpoint, day FROM deferred_days').raw(),
      defer: db.prepare('INSERT OR IGNORE INTO deferred_days (endpoint, day) VALUES (?, ?)'),
      undefer: db.prepare('DELETE FROM deferred_days WHERE endpoint = ? AND day = ?'),
      endpointDaysFrom: db.prepare('SELECT endpoint, day FROM endpoint_days WHERE day >= ?').raw(),
      upsertEndpointDay: db.prepare(
        `INSERT INTO endpoint_days (endpoint, day, timeline, up, unknown, down, critical, total)
         VALUES (@endpoint, @day, @timeline, @up, @unknown, @down, @critical, @total)
         ON CONFLICT (endpoint, day) DO UPDATE SET timeline = excluded.timeline, up = excluded.up, unknown = excluded.unknown,
         down = excluded.down, critical = excluded.critical, total = excluded.total`,
      ),
      deleteEndpointDay: db.prepare('DELETE FROM endpoint_days WHERE endpoint = ? AND day = ?'),
      siteEndpointDays: db.prepare(
        `SELECT e.id, e.service, d.timeline FROM endpoints e LEFT JOIN endpoint_days d ON d.endpoint = e.id AND d.day = ?
         WHERE e.site = ? AND e.counted = 1`,
      ),
      // The level list lets SQLite seek (level, day, site) in level_days_day; without it every recompute scanned the table.
      deleteLevelDays: db.prepare(
        "DELETE FROM level_days WHERE level IN ('service', 'function', 'site') AND site = ? AND day = ?",
      ),
      insertRejected: db.prepare(
        'INSERT OR IGNORE INTO rejected_inputs (source_message_id, line, input, errors, received_at, publisher) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      insertLevelDay: db.prepare(
        `INSERT INTO level_days (site, level, name, day, timeline, up, unknown, down, critical, total)
         VALUES (@site, @level, @name, @day, @timeline, @up, @unknown, @down, @critical, @total)`,
      ),
    };
    for (const row of db.prepare('SELECT id, hostname, service, site, counted FROM endpoints').all() as Array<{
      id: number;
      hostname: string;
      service: string;
      site: string | null;
      counted: number;
    }>) {
      this.endpointIds.set(`${row.hostname}\u0000${row.service}`, row.id);
      this.endpointInfo.set(row.id, {
        hostname: row.hostname,
        service: row.service,
        site: row.site,
        counted: row.counted === 1,
      });
    }
    this.deferred = this.loadDeferred();
    for (const row of db.prepare('SELECT id, name FROM metrics').all() as Array<{ id: number; name: string }>) {
      this.metricIds.set(row.name, row.id);
      this.metricNames.set(row.id, row.name);
    }
    this.stored = storedProfiles(db);
  }

  private endpoint(hostname: string, service: string): number {
    const key = `${hostname}\u0000${service}`;
    let id = this.endpointIds.get(key);
    if (id === undefined) {
      id = Number(this.s.insertEndpoint.run(hostname, service).lastInsertRowid);
      this.endpointIds.set(key, id);
      this.endpointInfo.set(id, { hostname, service, site: null, counted: true });
    }
    return id;
  }

  private metric(name: string): number {
    let id = this.metricIds.get(name);
    if (id === undefined) {
      id = Number(this.s.insertMetric.run(name).lastInsertRowid);
      this.metricIds.set(name, id);
      this.metricNames.set(id, name);
    }
    return id;
  }

  private markDirty(endpoint: number, day: number): void {
    addDay(this.dirty, endpoint, day);
  }

  private loadDeferred(): Map<number, Set<number>> {
    const deferred = new Map<number, Set<number>>();
    for (const [endpoint, day] of this.s.deferredDays.all() as Array<[number, number]>) addDay(deferred, endpoint, day);
    return deferred;
  }

  private latestDay(endpoint: number): number {
    let day = this.latestDays.get(endpoint);
    if (day === undefined) {
      const ts = this.s.latestResult.get(endpoint) as number | null;
      day = ts === null ? -Infinity : dayOf(ts);
      this.latestDays.set(endpoint, day);
    }
    return day;
  }

  private markSite(site: string, day: number): void {
    let days = this.dirtySites.get(site);
    if (!days) this.dirtySites.set(site, (days = new Set()));
    days.add(day);
  }

  private profiles(day: number): ProfileSet | null {
    const name = dayName(day);
    let set = this.profileCache.get(name);
    if (set === undefined) this.profileCache.set(name, (set = profilesForDay(this.stored, name)));
    return set;
  }

  /** Records the batch's facts, then recomputes the days they changed that are due (see `flush`). */
  apply(batch: readonly AppliedEvent[], ctx: ApplyContext): void {
    for (const { event, position } of batch) {
      switch (event.type) {
        case 'ProbeResultRecorded':
          this.probeResult(event.data);
          break;
        case 'DowntimeDeclared':
          this.downtimeDeclared(event.data);
          break;
        case 'DowntimeCancelled':
          this.dropDowntime(event.data.downtimeId);
          break;
        case 'SiteRegistered':
          this.s.upsertSite.run(event.data.siteName, event.data.ngi, event.data.country);
          break;
        case 'ServiceEndpointRegistered':
          this.endpointRegistered(event.data);
          break;
        case 'ProfilePublished':
          this.profilePublished(event.data, Number(position));
          break;
        case 'InputRejected':
          this.inputRejected(event.data);
          break;
      }
    }
    this.flush(ctx);
  }

  private probeResult(r: EventData<'ProbeResultRecorded'>): void {
    const endpoint = this.endpoint(r.hostname, r.service);
    const ts = Date.parse(r.timestamp) / 1000;
    if (this.s.insertResult.run(endpoint, ts, this.metric(r.metric), r.status).changes === 0) return;
    const day = dayOf(ts);
    if (day > this.latestDay(endpoint)) this.latestDays.set(endpoint, day);
    this.markDirty(endpoint, day);
    this.markDirty(endpoint, day + 1);
  }

  /** Marks every day the downtime covers, for each endpoint it names. */
  private markDowntime(
    d: { start: number; end: number },
    endpoints: ReadonlyArray<{ hostname: string; service: string }>,
  ): void {
    for (const e of endpoints) {
      const id = this.endpoint(e.hostname, e.service);
      for (let day = dayOf(d.start); day <= dayOf(coveredUntil(d.end) - 1); day++) this.markDirty(id, day);
    }
  }

  /** Forgets a downtime (superseded or cancelled), marking the days it covered. */
  private dropDowntime(id: string): void {
    const old = this.s.downtime.get(id) as { start: number; end: number } | undefined;
    if (!old) return;
    this.markDowntime(old, this.s.downtimeEndpoints.all(id) as Array<{ hostname: string; service: string }>);
    this.s.deleteDowntime.run(id);
    this.s.deleteDowntimeEndpoints.run(id);
  }

  private downtimeDeclared(d: EventData<'DowntimeDeclared'>): void {
    this.dropDowntime(d.downtimeId);
    const start = Date.parse(d.start) / 1000;
    const end = Date.parse(d.end) / 1000;
    this.s.insertDowntime.run(d.downtimeId, d.siteName, d.classification, d.severity, start, end, d.description);
    for (const e of d.endpoints) this.s.insertDowntimeEndpoint.run(e.hostname, e.service, d.downtimeId);
    this.markDowntime({ start, end }, d.endpoints);
  }

  private endpointRegistered(e: EventData<'ServiceEndpointRegistered'>): void {
    const id = this.endpoint(e.hostname, e.service);
    const info = this.endpointInfo.get(id)!;
    const counted = e.inProduction && e.monitored;
    this.s.ensureSite.run(e.siteName, e.ngi ?? null, e.country ?? null);
    if (info.site === e.siteName && info.counted === counted) return;
    const days = (this.s.endpointDays.all(id) as string[]).map((d) => dayOf(Date.parse(d) / 1000));
    for (const site of [info.site, e.siteName]) if (site !== null) for (const day of days) this.markSite(site, day);
    this.s.setEndpointSite.run(e.siteName, counted ? 1 : 0, id);
    info.site = e.siteName;
    info.counted = counted;
  }

  private inputRejected(r: EventData<'InputRejected'>): void {
    this.s.insertRejected.run(
      r.sourceMessageId,
      r.line ?? 0,
      r.input,
      JSON.stringify(r.errors),
      r.receivedAt,
      r.publisher,
    );
  }

  private profilePublished(p: EventData<'ProfilePublished'>, position: number): void {
    const parsed = parseProfileObject(p.profile, `profile ${p.name}`);
    this.s.upsertProfile.run(p.kind, p.name, p.effectiveFrom, position, JSON.stringify(p.profile));
    const index = this.stored.findIndex(
      (s) =>
        s.parsed.kind === parsed.kind &&
        s.parsed.profile.name === parsed.profile.name &&
        s.parsed.profile.date === parsed.profile.date,
    );
    if (index >= 0) this.stored.splice(index, 1);
    this.stored.push({ parsed, position });
    this.profileCache.clear();
    const from = dayOf(Date.parse(`${p.effectiveFrom}T00:00:00Z`) / 1000);
    for (const [endpoint, day] of this.s.resultDaysFrom.all(from * DAY) as Array<[number, number]>) {
      this.markDirty(endpoint, day);
      this.markDirty(endpoint, day + 1);
    }
    for (const [endpoint, day] of this.s.endpointDaysFrom.all(p.effectiveFrom) as Array<[number, string]>)
      this.markDirty(endpoint, dayOf(Date.parse(day) / 1000));
  }

  /**
   * Recomputes the dirty and deferred endpoint days that are due (all of them at the head; else those before the
   * endpoint's latest day with results), puts off the others, then recomputes the site levels of the days that changed.
   */
  private flush(ctx: ApplyContext): void {
    const before = this.deferred;
    const candidates = new Map<number, Set<number>>();
    for (const source of [before, this.dirty])
      for (const [endpoint, days] of source) for (const day of days) addDay(candidates, endpoint, day);
    this.deferred = new Map();
    for (const [endpoint, days] of candidates) {
      const info = this.endpointInfo.get(endpoint)!;
      const latest = ctx.atHead ? Infinity : this.latestDay(endpoint);
      const wasDeferred = before.get(endpoint);
      let recomputed = false;
      for (const day of days) {
        if (day >= latest) {
          addDay(this.deferred, endpoint, day);
          if (!wasDeferred?.has(day)) this.s.defer.run(endpoint, day);
          continue;
        }
        this.recomputeEndpointDay(endpoint, info.hostname, info.service, day);
        if (wasDeferred?.has(day)) this.s.undefer.run(endpoint, day);
        if (info.site !== null) this.markSite(info.site, day);
        recomputed = true;
      }
      if (recomputed) ctx.changed(`endpoint:${info.hostname}/${info.service}`);
    }
    this.dirty.clear();
    for (const [site, days] of this.dirtySites) {
      for (const day of days) this.recomputeSiteDay(site, day);
      ctx.changed(`site:${site}`);
    }
    this.dirtySites.clear();
  }

  private recomputeEndpointDay(endpoint: number, hostname: string, service: string, day: number): void {
    const profiles = this.profiles(day);
    if (profiles === null) {
      this.s.deleteEndpointDay.run(endpoint, dayName(day));
      return;
    }
    const start = day * DAY;
    const rows = this.s.results.all(endpoint, start - DAY, start + DAY) as Array<[number, number, string]>;
    const previous = new Map<string, MetricDay>();
    const current = new Map<string, MetricDay>();
    for (const [ts, metric, status] of rows) {
      const name = this.metricNames.get(metric)!;
      const target = ts < start ? previous : current;
      let m = target.get(name);
      if (!m) target.set(name, (m = { seed: null, results: [] }));
      m.results.push({ at: ts - (ts < start ? start - DAY : start), state: status } satisfies Point);
    }
    for (const [name, seed] of lastStatuses(this.profiles(day - 1) ?? profiles, previous)) {
      const m = current.get(name);
      if (m) m.seed = seed;
      else current.set(name, { seed, results: [] });
    }
    const downtimes = this.s.endpointDowntimes.all(hostname, service, start + DAY, start) as Downtime[];
    const timeline = endpointDay(profiles, service, current, downtimeIntervals(downtimes, start));
    if (timeline === null) {
      this.s.deleteEndpointDay.run(endpoint, dayName(day));
      return;
    }
    this.s.upsertEndpointDay.run({ endpoint, day: dayName(day), ...storedDay(timeline, profiles) });
  }

  private recomputeSiteDay(site: string, day: number): void {
    const profiles = this.profiles(day);
    const name = dayName(day);
    this.s.deleteLevelDays.run(site, name);
    if (profiles === null) return;
    const missing = constant(profiles.operations.profile.defaults.missing);
    const rows = this.s.siteEndpointDays.all(name, site) as Array<{ service: string; timeline: string | null }>;
    const result = siteDay(
      profiles,
      rows.map((r) => ({ service: r.service, timeline: r.timeline === null ? missing : decodeTimeline(r.timeline) })),
    );
    const put = (level: string, levelName: string, timeline: Timeline) =>
      this.s.insertLevelDay.run({ site, level, name: levelName, day: name, ...storedDay(timeline, profiles) });
    for (const [service, timeline] of result.services) put('service', service, timeline);
    for (const [group, timeline] of result.groups) put('function', group, timeline);
    if (result.site) put('site', '', result.site);
  }
}

function addDay(map: Map<number, Set<number>>, endpoint: number, day: number): void {
  let days = map.get(endpoint);
  if (!days) map.set(endpoint, (days = new Set()));
  days.add(day);
}

export const availabilityProjection: Projection = {
  name: 'availability',
  version: 3,
  eventTypes: [
    'ProbeResultRecorded',
    'DowntimeDeclared',
    'DowntimeCancelled',
    'SiteRegistered',
    'ServiceEndpointRegistered',
    'ProfilePublished',
    'InputRejected',
  ],
  setup(db) {
    db.exec(SCHEMA);
  },
  open: (db) => new Model(db),
};

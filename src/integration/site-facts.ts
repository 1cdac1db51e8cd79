/**
 * Every site's integration status from the read models and the collector snapshots: gathers each site's facts
 * through the read models' integration queries and judges them with the rules of status.ts.
 */
import type Database from 'better-sqlite3';
import {
  accountedSites,
  keptInWindow,
  receiptTimes,
  rejectionTimes,
} from '../../projections/accounting/integration-queries.ts';
import { dailyLastResults, siteEndpoints, topologySites } from '../../projections/availability/integration-queries.ts';
import { DAY, dayName, dayOf } from '../availability/days.ts';
import { profileResolver } from '../../projections/availability/profiles.ts';
import { arReport } from '../../projections/availability/queries.ts';
import { CLOUD_SERVICE_TYPES } from '../availability/service-types.ts';
import type { CollectorSnapshot } from '../glue2/cloud-info.ts';
import {
  DEFAULT_RULES,
  type EndpointFacts,
  type ExpectedMetrics,
  type IntegrationRules,
  type MonthlyAr,
  type SiteFacts,
  type SiteIntegration,
  siteIntegration,
} from './status.ts';

export interface IntegrationSources {
  accounting: Database.Database;
  availability: Database.Database;
  /** Collector snapshots per site, oldest first (`snapshotHistory`). */
  snapshots: ReadonlyMap<string, readonly CollectorSnapshot[]>;
}

/** The metrics the profiles in force on a day expect, per service type of the aggregation profile. */
export function expectedMetrics(db: Database.Database): ExpectedMetrics {
  const resolve = profileResolver(db);
  const cache = new Map<number, ReadonlyMap<string, readonly string[]> | null>();
  return (day) => {
    if (cache.has(day)) return cache.get(day)!;
    const set = resolve(day);
    const expected = set
      ? new Map(
          set.aggregation.groups.flatMap((g) => g.services.map((s) => [s.name, set.metrics.services[s.name] ?? []])),
        )
      : null;
    cache.set(day, expected as ReadonlyMap<string, readonly string[]> | null);
    return expected;
  };
}

/** Every site's facts, by site name. */
export function gatherSiteFacts(src: IntegrationSources, now: Date, rules: IntegrationRules): Map<string, SiteFacts> {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const receipts = receiptTimes(src.accounting);
  const rejections = rejectionTimes(src.accounting);
  const window = keptInWindow(src.accounting, nowSeconds - rules.windowDays * DAY, nowSeconds);
  const results = dailyLastResults(src.availability);
  const endpoints = new Map<string, EndpointFacts[]>();
  for (const e of siteEndpoints(src.availability)) {
    const list = endpoints.get(e.site) ?? [];
    list.push({
      hostname: e.hostname,
      service: e.service,
      counted: e.counted,
      cloud: (CLOUD_SERVICE_TYPES as readonly string[]).includes(e.service),
      results: results.get(`${e.hostname} ${e.service}`) ?? new Map(),
    });
    endpoints.set(e.site, list);
  }
  const firstResults = new Map<string, number>();
  for (const [site, list] of endpoints)
    for (const e of list)
      for (const days of e.results.values())
        if (days.length && days[0]! < (firstResults.get(site) ?? Infinity)) firstResults.set(site, days[0]!);
  const monthly = new Map<string, MonthlyAr[]>();
  const first = Math.min(...firstResults.values());
  if (Number.isFinite(first))
    for (const r of arReport(src.availability, {
      from: dayName(dayOf(first)),
      to: dayName(dayOf(nowSeconds)),
      granularity: 'monthly',
      now,
      levels: ['site'],
    }))
      monthly.set(r.site!, [
        ...(monthly.get(r.site!) ?? []),
        { month: r.date, availability: r.availability, reliability: r.reliability, unknown: r.unknown },
      ]);
  const names = new Set([
    ...topologySites(src.availability),
    ...accountedSites(src.accounting),
    ...receipts.keys(),
    ...rejections.keys(),
    ...src.snapshots.keys(),
  ]);
  return new Map(
    [...names].sort().map((site) => [
      site,
      {
        site,
        receipts: receipts.get(site) ?? [],
        rejections: rejections.get(site) ?? [],
        window: window.get(site) ?? { records: 0, vms: 0 },
        endpoints: endpoints.get(site) ?? [],
        firstResult: firstResults.get(site) ?? null,
        monthly: monthly.get(site) ?? [],
        snapshots: (src.snapshots.get(site) ?? []).map((s) => ({
          takenAt: Math.floor(Date.parse(s.takenAt) / 1000),
          images: s.images.length,
          flavours: s.flavors.length,
        })),
      },
    ]),
  );
}

/** Every site's integration status at `now` (or one site's; an unknown site gives none). */
export function integrationStatuses(
  src: IntegrationSources,
  now: Date,
  options: { site?: string; rules?: IntegrationRules } = {},
): SiteIntegration[] {
  const rules = options.rules ?? DEFAULT_RULES;
  const expected = expectedMetrics(src.availability);
  const nowSeconds = Math.floor(now.getTime() / 1000);
  return [...gatherSiteFacts(src, now, rules).values()]
    .filter((f) => options.site === undefined || f.site === options.site)
    .map((f) => siteIntegration(f, nowSeconds, expected, rules));
}

/**
 * What the integration status (src/integration/) needs from the availability read model: the sites and endpoints
 * of the topology, and when each endpoint's metrics reported, as the last result of each day they did.
 */
import type Database from 'better-sqlite3';
import { DAY } from '../../src/availability/days.ts';

export interface SiteEndpoint {
  site: string;
  hostname: string;
  service: string;
  /** In production and monitored per GOCDB (or not in GOCDB). */
  counted: boolean;
}

/** Sites of the topology (GOCDB's site list, or the sites endpoints belong to). */
export function topologySites(db: Database.Database): string[] {
  return db
    .prepare('SELECT name FROM sites UNION SELECT site FROM endpoints WHERE site IS NOT NULL ORDER BY 1')
    .pluck()
    .all() as string[];
}

export function siteEndpoints(db: Database.Database): SiteEndpoint[] {
  return (
    db
      .prepare(
        'SELECT site, hostname, service, counted FROM endpoints WHERE site IS NOT NULL ORDER BY site, service, hostname',
      )
      .all() as Array<{ site: string; hostname: string; service: string; counted: number }>
  ).map((r) => ({ ...r, counted: r.counted === 1 }));
}

/** Per endpoint (`hostname service`) and metric: the epoch seconds of its last result on each day, ascending. */
export function dailyLastResults(db: Database.Database): Map<string, Map<string, number[]>> {
  const rows = db
    .prepare(
      `SELECT e.hostname || ' ' || e.service, m.name, max(r.ts) AS last FROM results r
       JOIN endpoints e ON e.id = r.endpoint JOIN metrics m ON m.id = r.metric
       WHERE e.site IS NOT NULL GROUP BY r.endpoint, r.metric, r.ts / ${DAY} ORDER BY last`,
    )
    .raw()
    .all() as Array<[string, string, number]>;
  const out = new Map<string, Map<string, number[]>>();
  for (const [endpoint, metric, last] of rows) {
    let metrics = out.get(endpoint);
    if (!metrics) out.set(endpoint, (metrics = new Map()));
    const list = metrics.get(metric);
    if (list) list.push(last);
    else metrics.set(metric, [last]);
  }
  return out;
}

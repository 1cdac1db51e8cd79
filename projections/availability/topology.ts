/**
 * Reads of the topology the `availability` read model holds: sites (GOCDB's,
 * and those only endpoints name), endpoints, downtimes, and counts of what an
 * A/R query may cover.
 */
import type Database from 'better-sqlite3';
import { CLOUD_SERVICE_TYPES } from '../../src/availability/service-types.ts';
import type { Level } from './queries.ts';

export interface SiteRow {
  name: string;
  ngi: string | null;
  country: string | null;
}

/** GOCDB's sites and the sites endpoints name without GOCDB knowing them (all, or the one named), by name. */
export function listSites(db: Database.Database, site: string | undefined): SiteRow[] {
  return db
    .prepare(
      `SELECT name, ngi, country FROM sites WHERE (@site IS NULL OR name = @site)
       UNION SELECT DISTINCT site, NULL, NULL FROM endpoints WHERE site IS NOT NULL AND site NOT IN (SELECT name FROM sites) AND (@site IS NULL OR site = @site)
       ORDER BY 1`,
    )
    .all({ site: site ?? null }) as SiteRow[];
}

/** Whether GOCDB registered the site. */
export function siteRegistered(db: Database.Database, site: string): boolean {
  return db.prepare('SELECT 1 FROM sites WHERE name = ?').get(site) !== undefined;
}

/** A site GOCDB registered or that endpoints belong to. */
export function siteKnown(db: Database.Database, site: string): boolean {
  return (
    db
      .prepare('SELECT 1 FROM sites WHERE name = ? UNION ALL SELECT 1 FROM endpoints WHERE site = ? LIMIT 1')
      .get(site, site) !== undefined
  );
}

/** The sites with a counted endpoint of a cloud VM-management interface: those whose cloud is registered. */
export function registeredSites(db: Database.Database): string[] {
  const placeholders = CLOUD_SERVICE_TYPES.map(() => '?').join(', ');
  return db
    .prepare(
      `SELECT DISTINCT site FROM endpoints WHERE site IS NOT NULL AND counted = 1 AND service IN (${placeholders}) ORDER BY site`,
    )
    .pluck()
    .all(...CLOUD_SERVICE_TYPES) as string[];
}

export interface EndpointRow {
  hostname: string;
  service: string;
  site: string | null;
  /** In production and monitored per GOCDB (or not in GOCDB): only those count towards their site. */
  counted: boolean;
}

/** A site's endpoints, by service and hostname. */
export function siteEndpoints(db: Database.Database, site: string): EndpointRow[] {
  return (
    db
      .prepare('SELECT hostname, service, site, counted FROM endpoints WHERE site = ? ORDER BY service, hostname')
      .all(site) as Array<Omit<EndpointRow, 'counted'> & { counted: number }>
  ).map((e) => ({ ...e, counted: e.counted === 1 }));
}

/** Looks up endpoints' sites: a function of hostname and service, prepared once. */
export function endpointSites(db: Database.Database): (hostname: string, service: string) => string | null {
  const siteOf = db.prepare('SELECT site FROM endpoints WHERE hostname = ? AND service = ?').pluck();
  return (hostname, service) => (siteOf.get(hostname, service) as string | null | undefined) ?? null;
}

export interface DowntimeRow {
  id: string;
  site: string | null;
  classification: string;
  severity: string;
  /** Epoch seconds. */
  start: number;
  end: number;
  description: string;
}

/**
 * Downtimes of a site (or all) that overlap [from, to) (epoch seconds, either open), by start; at most `limit`.
 */
export function listDowntimes(
  db: Database.Database,
  q: { site: string | undefined; from: number | undefined; to: number | undefined; limit: number },
): DowntimeRow[] {
  return db
    .prepare(
      `SELECT id, site, classification, severity, start, end, description FROM downtimes
       WHERE (@site IS NULL OR site = @site) AND (@from IS NULL OR end >= @from) AND (@to IS NULL OR start < @to)
       ORDER BY start, id LIMIT @limit`,
    )
    .all({ site: q.site ?? null, from: q.from ?? null, to: q.to ?? null, limit: q.limit }) as DowntimeRow[];
}

/**
 * How many entities of each level an A/R query may cover, from the topology alone (a function group counts at a
 * site through one of its services there: FedCloud puts each service in one group).
 */
export function entityCounts(
  db: Database.Database,
  q: { site: string | null; service: string | null; hostname: string | null; group: string | null },
): Record<Level, number> {
  return db
    .prepare(
      `SELECT COUNT(*) AS endpoint, COUNT(DISTINCT site || char(0) || service) AS service,
       COUNT(DISTINCT site || char(0) || service) AS function, COUNT(DISTINCT site) AS site,
       (SELECT COUNT(DISTINCT ngi) FROM sites WHERE @group IS NULL OR ngi = @group) AS "group"
       FROM endpoints WHERE (@site IS NULL OR site = @site) AND (@service IS NULL OR service = @service)
       AND (@hostname IS NULL OR hostname = @hostname)`,
    )
    .get(q) as Record<Level, number>;
}

/** Availability, status timelines, latest status, topology, downtimes, and the live change feed. */
import type Database from 'better-sqlite3';
import { on } from 'node:events';
import { arReport, latestStatuses, type Level, LEVELS, statusTimelines } from '../../availability/queries.ts';
import { isoSeconds } from '../../instant.ts';
import { type ApiContext, reachesToday, readModel } from '../context.ts';
import type { Resolvers } from '../generated/graphql.ts';
import type { AvailabilityCommit } from '../live.ts';
import { availabilityScope, maySeeSite } from '../policy.ts';
import { checkRows, spanDays } from '../request-cost.ts';

const dayStart = (day: string) => Date.parse(`${day}T00:00:00Z`) / 1000;

function latest(ctx: ApiContext, site: string | undefined) {
  ctx.answer.timeDependent = true;
  const { endpoints, sites } = latestStatuses(readModel(ctx.services, 'availability'), ctx.services.now());
  const visible = (s: string | null) =>
    s !== null && maySeeSite(ctx.principal, s) && (site === undefined || s === site);
  return { endpoints: endpoints.filter((e) => visible(e.site)), sites: sites.filter((s) => visible(s.site)) };
}

/**
 * At most how many rows an A/R query answers, from the topology alone: its periods times the endpoints, services,
 * function groups, sites and groups it may cover. Checked before the days are read.
 */
function arRowsAtMost(
  db: Database.Database,
  q: { from: string; to: string; granularity: string; levels: readonly Level[]; site?: string | undefined },
  filter: { service?: string | null | undefined; hostname?: string | null | undefined; group?: string | null },
): number {
  const days = spanDays(q.from, q.to) ?? 0;
  const months = (d: string) => Number(d.slice(0, 4)) * 12 + Number(d.slice(5, 7));
  const periods =
    q.granularity === 'daily' ? days : q.granularity === 'monthly' ? months(q.to) - months(q.from) + 1 : 1;
  const counts = db
    .prepare(
      `SELECT COUNT(*) AS endpoint, COUNT(DISTINCT site || char(0) || service) AS service,
       -- A function group counts at a site through one of its services there (FedCloud puts each service in one group).
       COUNT(DISTINCT site || char(0) || service) AS function, COUNT(DISTINCT site) AS site,
       (SELECT COUNT(DISTINCT ngi) FROM sites WHERE @group IS NULL OR ngi = @group) AS "group"
       FROM endpoints WHERE (@site IS NULL OR site = @site) AND (@service IS NULL OR service = @service)
       AND (@hostname IS NULL OR hostname = @hostname)`,
    )
    .get({
      site: q.site ?? null,
      service: filter.service ?? null,
      hostname: filter.hostname ?? null,
      group: filter.group ?? null,
    }) as Record<Level, number>;
  return periods * q.levels.reduce((n, level) => n + counts[level], 0);
}

export const availabilityResolvers: Resolvers = {
  Query: {
    availability: (_, args, ctx) => {
      const scope = availabilityScope(ctx.principal, { site: args.site, group: args.group });
      if (reachesToday(ctx, args.to)) ctx.answer.timeDependent = true;
      const levels = (args.levels ?? LEVELS).filter((l) => scope.groupsAllowed || l !== 'group') as Level[];
      const db = readModel(ctx.services, 'availability');
      const rows = arRowsAtMost(db, { ...args, levels, site: scope.site }, args);
      checkRows('availability', rows, ctx.services.config.maxRows, 'from/to, granularity, levels or site');
      return arReport(db, {
        from: args.from,
        to: args.to,
        granularity: args.granularity,
        now: ctx.services.now(),
        levels,
        ...(scope.site ? { site: scope.site } : {}),
        ...(args.group ? { group: args.group } : {}),
        ...(args.service ? { service: args.service } : {}),
        ...(args.hostname ? { hostname: args.hostname } : {}),
      }).map((r) => ({ ...r, period: r.date }));
    },
    statusTimelines: (_, args, ctx) => {
      const scope = availabilityScope(ctx.principal, { site: args.site });
      if (reachesToday(ctx, args.to)) ctx.answer.timeDependent = true;
      const level = args.level === 'functionGroup' ? 'function' : args.level;
      const timelines = statusTimelines(readModel(ctx.services, 'availability'), {
        from: args.from,
        to: args.to,
        now: ctx.services.now(),
        level,
        ...(scope.site ? { site: scope.site } : {}),
        ...(args.service ? { service: args.service } : {}),
        ...(args.hostname ? { hostname: args.hostname } : {}),
      });
      const points = timelines.reduce((n, t) => n + t.statuses.length, 0);
      checkRows('statusTimelines', points, ctx.services.config.maxRows, 'from/to, level or site');
      return timelines.map((t) => ({ ...t, level: args.level }));
    },
    latestStatus: (_, args, ctx) => latest(ctx, availabilityScope(ctx.principal, { site: args.site }).site),
    sites: (_, args, ctx) => {
      const scope = availabilityScope(ctx.principal, { site: args.name });
      const db = readModel(ctx.services, 'availability');
      return db
        .prepare(
          `SELECT name, ngi, country FROM sites WHERE (@site IS NULL OR name = @site)
           UNION SELECT DISTINCT site, NULL, NULL FROM endpoints WHERE site IS NOT NULL AND site NOT IN (SELECT name FROM sites) AND (@site IS NULL OR site = @site)
           ORDER BY 1`,
        )
        .all({ site: scope.site ?? null }) as Array<{ name: string; ngi: string | null; country: string | null }>;
    },
    downtimes: (_, args, ctx) => {
      const scope = availabilityScope(ctx.principal, { site: args.site });
      const rows = readModel(ctx.services, 'availability')
        .prepare(
          `SELECT id, site, classification, severity, start, end, description FROM downtimes
           WHERE (@site IS NULL OR site = @site) AND (@from IS NULL OR end >= @from) AND (@to IS NULL OR start < @to)
           ORDER BY start, id LIMIT @limit`,
        )
        .all({
          site: scope.site ?? null,
          from: args.from ? dayStart(args.from) : null,
          to: args.to ? dayStart(args.to) + 86_400 : null,
          limit: ctx.services.config.maxRows + 1,
        }) as Array<{
        id: string;
        site: string | null;
        classification: string;
        severity: string;
        start: number;
        end: number;
        description: string;
      }>;
      checkRows('downtimes', rows.length, ctx.services.config.maxRows, 'from/to or site');
      return rows.map((r) => ({ ...r, start: isoSeconds(r.start), end: isoSeconds(r.end) }));
    },
  },
  Site: {
    glue2: async (site, _, ctx) => {
      const document = (await ctx.services.glue2.documents()).get(site.name);
      return document ? JSON.stringify(document) : null;
    },
    endpoints: (site, _, ctx) =>
      (
        readModel(ctx.services, 'availability')
          .prepare('SELECT hostname, service, site, counted FROM endpoints WHERE site = ? ORDER BY service, hostname')
          .all(site.name) as Array<{
          hostname: string;
          service: string;
          site: string | null;
          counted: number;
        }>
      ).map((e) => ({ ...e, counted: e.counted === 1 })),
  },
  Subscription: {
    availabilityChanged: {
      subscribe: async function* (_, { sites }, ctx) {
        const scope = availabilityScope(ctx.principal, {});
        const wanted = (site: string) =>
          maySeeSite(ctx.principal, site) && (!sites || sites.includes(site)) && (!scope.site || site === scope.site);
        const signal = AbortSignal.any([ctx.request.signal, ctx.services.live.signal]);
        const changes = on(ctx.services.live, 'availability', { signal }) as AsyncIterable<[AvailabilityCommit]>;
        try {
          for await (const [commit] of changes) {
            const visibleSites = commit.sites.filter(wanted);
            if (visibleSites.length === 0) continue;
            yield {
              availabilityChanged: {
                position: commit.position,
                sites: visibleSites,
                endpoints: commit.endpoints.filter((e) => e.site !== null && wanted(e.site)).map((e) => e.key),
                latest: latest(ctx, undefined),
              },
            };
          }
        } catch (error) {
          // The client went away or the server is shutting down: end the stream quietly.
          if (!signal.aborted) throw error;
        }
      },
    },
  },
};

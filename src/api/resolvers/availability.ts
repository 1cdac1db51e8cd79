/** Availability, status timelines, latest status, topology, downtimes, and the live change feed. */
import type Database from 'better-sqlite3';
import { on } from 'node:events';
import {
  arReport,
  latestStatuses,
  type Level,
  LEVELS,
  statusTimelines,
} from '../../../projections/availability/queries.ts';
import { entityCounts, listDowntimes, listSites, siteEndpoints } from '../../../projections/availability/topology.ts';
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
  const counts = entityCounts(db, {
    site: q.site ?? null,
    service: filter.service ?? null,
    hostname: filter.hostname ?? null,
    group: filter.group ?? null,
  });
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
      return listSites(readModel(ctx.services, 'availability'), scope.site);
    },
    downtimes: (_, args, ctx) => {
      const scope = availabilityScope(ctx.principal, { site: args.site });
      const rows = listDowntimes(readModel(ctx.services, 'availability'), {
        site: scope.site,
        from: args.from ? dayStart(args.from) : undefined,
        to: args.to ? dayStart(args.to) + 86_400 : undefined,
        limit: ctx.services.config.maxRows + 1,
      });
      checkRows('downtimes', rows.length, ctx.services.config.maxRows, 'from/to or site');
      return rows.map((r) => ({ ...r, start: isoSeconds(r.start), end: isoSeconds(r.end) }));
    },
  },
  Site: {
    glue2: async (site, _, ctx) => {
      const document = (await ctx.services.glue2.documents()).get(site.name);
      return document ? JSON.stringify(document) : null;
    },
    endpoints: (site, _, ctx) => siteEndpoints(readModel(ctx.services, 'availability'), site.name),
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

/** Availability, status timelines, latest status, topology, downtimes, and the live change feed. */
import { glue2Documents } from '../../glue2/snapshots.ts';
import { on } from 'node:events';
import { arReport, latestStatuses, type Level, LEVELS, statusTimelines } from '../../availability/queries.ts';
import { isoSeconds } from '../../instant.ts';
import { type ApiContext, reachesToday, readModel } from '../context.ts';
import type { Resolvers } from '../generated/graphql.ts';
import type { AvailabilityCommit } from '../live.ts';
import { availabilityScope, maySeeSite } from '../policy.ts';
const dayStart = (day: string) => Date.parse(`${day}T00:00:00Z`) / 1000;

function latest(ctx: ApiContext, site: string | undefined) {
  ctx.answer.timeDependent = true;
  const { endpoints, sites } = latestStatuses(readModel(ctx.services, 'availability'), ctx.services.now());
  const visible = (s: string | null) =>
    s !== null && maySeeSite(ctx.principal, s) && (site === undefined || s === site);
  return { endpoints: endpoints.filter((e) => visible(e.site)), sites: sites.filter((s) => visible(s.site)) };
}

export const availabilityResolvers: Resolvers = {
  Query: {
    availability: (_, args, ctx) => {
      const scope = availabilityScope(ctx.principal, { site: args.site, group: args.group });
      if (reachesToday(ctx, args.to)) ctx.answer.timeDependent = true;
      const levels = (args.levels ?? LEVELS).filter((l) => scope.groupsAllowed || l !== 'group') as Level[];
      return arReport(readModel(ctx.services, 'availability'), {
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
      const level = args.level === 'functionGroup' ? 'function-group' : args.level;
      return statusTimelines(readModel(ctx.services, 'availability'), {
        from: args.from,
        to: args.to,
        now: ctx.services.now(),
        level,
        ...(scope.site ? { site: scope.site } : {}),
        ...(args.service ? { service: args.service } : {}),
        ...(args.hostname ? { hostname: args.hostname } : {}),
      }).map((t) => ({ ...t, level: args.level }));
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
           WHERE (@site IS NULL OR site = @site) AND (@from IS NULL OR end >= @from) AND (@to IS NULL OR start < @to) ORDER BY start, id`,
        )
        .all({
          site: scope.site ?? null,
          from: args.from ? dayStart(args.from) : null,
          to: args.to ? dayStart(args.to) + 86_400 : null,
        }) as Array<{
        id: string;
        site: string | null;
        classification: string;
        severity: string;
        start: number;
        end: number;
        description: string;
      }>;
      return rows.map((r) => ({ ...r, start: isoSeconds(r.start), end: isoSeconds(r.end) }));
    },
  },
  Site: {
    glue2: async (site, _, ctx) => {
      const document = (await glue2Documents(ctx.services.log, site.name)).get(site.name);
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

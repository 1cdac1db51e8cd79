/** The caller's identity, projection status and report runs. */
import type { Resolvers } from '../generated/graphql.ts';
import { decode } from '../../events/codec.ts';
import { requireRole } from '../policy.ts';

export const adminResolvers: Resolvers = {
  Query: {
    me: (_, __, ctx) => ctx.principal,
    projections: async (_, __, ctx) => {
      requireRole(ctx.principal, 'staff');
      const out = [];
      for (const [name, runner] of ctx.services.runners) {
        const head = await runner.head();
        const lag = head > runner.checkpoint ? head - runner.checkpoint : 0n;
        out.push({ name, checkpoint: runner.checkpoint, head, lag });
      }
      return out;
    },
    reportRuns: async (_, { period }, ctx) => {
      requireRole(ctx.principal, 'staff');
      const runs = [];
      for await (const stored of ctx.services.log.readAll({ filter: { eventTypes: ['ReportGenerated'] } })) {
        const event = decode(stored);
        if (event.type !== 'ReportGenerated' || (period && event.data.period !== period)) continue;
        runs.push({ ...event.data, position: event.data.position });
      }
      return runs.reverse();
    },
  },
};

/** Sites' integration status: staff see every site, a site token its own site only. */
import type { IntegrationState, SiteIntegration } from '../../integration/status.ts';
import type { ApiContext } from '../context.ts';
import type { IntegrationState as GraphqlState, Resolvers } from '../generated/graphql.ts';
import { siteStatuses } from '../integration-status.ts';
import { siteOnly } from '../policy.ts';

/** GraphQL enum values cannot hold a space: `not started` is `not_started`. */
const graphqlState = (s: IntegrationState) => s.replace(' ', '_') as GraphqlState;

function statuses(ctx: ApiContext, site: string | undefined): Promise<SiteIntegration[]> {
  // The checks look back from now (silence, probes in the last 24 hours): the answer moves with the clock.
  ctx.answer.timeDependent = true;
  return siteStatuses(ctx.services, site);
}

const view = (s: SiteIntegration) => ({ ...s, state: graphqlState(s.state) });

export const integrationResolvers: Resolvers = {
  Query: {
    siteIntegration: async (_, { site }, ctx) => {
      const [found] = await statuses(ctx, siteOnly(ctx.principal, site));
      return found ? view(found) : null;
    },
    siteIntegrations: async (_, { state }, ctx) =>
      (await statuses(ctx, siteOnly(ctx.principal, undefined)))
        .map(view)
        .filter((s) => state === null || state === undefined || s.state === state),
  },
};

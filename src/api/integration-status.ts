/** Sites' integration status as the server computes it, for the GraphQL fields and the /metrics gauge. */
import { snapshotHistory } from '../glue2/snapshots.ts';
import { integrationStatuses } from '../integration/site-facts.ts';
import { DEFAULT_RULES, type SiteIntegration } from '../integration/status.ts';
import { type ApiServices, readModel } from './context.ts';

export async function siteStatuses(services: ApiServices, site?: string): Promise<SiteIntegration[]> {
  return integrationStatuses(
    {
      accounting: readModel(services, 'accounting'),
      availability: readModel(services, 'availability'),
      snapshots: await snapshotHistory(services.log),
    },
    services.now(),
    {
      ...(site === undefined ? {} : { site }),
      rules: { ...DEFAULT_RULES, silentAfterDays: services.config.integrationSilentAfterDays },
    },
  );
}

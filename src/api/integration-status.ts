/**
 * Sites' integration status as the server computes it, for the GraphQL fields and the /metrics gauge. Gathering it
 * reads every site's receipts and probe results, so one computation serves every caller until a read model commits,
 * a collector snapshot is appended, or the minute changes (the checks look back from now).
 */
import { snapshotHistory } from '../glue2/snapshots.ts';
import { integrationStatuses } from '../integration/site-facts.ts';
import { DEFAULT_RULES, type SiteIntegration } from '../integration/status.ts';
import { type ApiServices, readModel } from './context.ts';

const computed = new WeakMap<ApiServices, { key: string; statuses: Promise<SiteIntegration[]> }>();

async function allStatuses(services: ApiServices): Promise<SiteIntegration[]> {
  const now = services.now();
  const checkpoints = ['accounting', 'availability'].map((name) => services.runners.get(name)?.checkpoint);
  const snapshots = await services.log.headPosition({ eventTypes: ['CollectorSnapshotTaken'] });
  const key = [...checkpoints, snapshots, Math.floor(now.getTime() / 60_000)].join(':');
  const known = computed.get(services);
  if (known?.key === key) return known.statuses;
  const statuses = (async () =>
    integrationStatuses(
      {
        accounting: readModel(services, 'accounting'),
        availability: readModel(services, 'availability'),
        snapshots: await snapshotHistory(services.log),
      },
      now,
      { rules: { ...DEFAULT_RULES, silentAfterDays: services.config.integrationSilentAfterDays } },
    ))();
  computed.set(services, { key, statuses });
  // A failed computation is not kept: the next caller tries again.
  statuses.catch(() => {
    if (computed.get(services)?.statuses === statuses) computed.delete(services);
  });
  return statuses;
}

/** Every site's status, or one site's (none for a site fedledger does not know). */
export async function siteStatuses(services: ApiServices, site?: string): Promise<SiteIntegration[]> {
  const all = await allStatuses(services);
  return site === undefined ? all : all.filter((s) => s.site === site);
}

/**
 * Which sites a signer's DN may publish accounting for: GOCDB's HOSTDN of
 * each site's endpoints (the latest registration of an endpoint counts, so a
 * replaced host certificate stops being accepted), plus DNs the operator
 * configures, as SSM receivers keep a list of valid DNs fetched from GOCDB.
 */
import type { EventLog } from '../../eventlog/port.ts';
import type { EventData } from '../../events/catalogue.ts';

type Endpoint = Pick<EventData<'ServiceEndpointRegistered'>, 'siteName' | 'hostname' | 'service' | 'hostDn'>;

/** DN → the sites it may publish for. Pure: endpoints in log order, the configured DNs added. */
export function signerSites(
  endpoints: Iterable<Endpoint>,
  configured: Readonly<Record<string, readonly string[]>> = {},
): Map<string, Set<string>> {
  const latest = new Map<string, Endpoint>();
  for (const e of endpoints) latest.set(JSON.stringify([e.siteName, e.hostname, e.service]), e);
  const sites = new Map<string, Set<string>>();
  const allow = (dn: string, site: string) => {
    const known = sites.get(dn);
    if (known) known.add(site);
    else sites.set(dn, new Set([site]));
  };
  for (const e of latest.values()) if (e.hostDn !== undefined) allow(e.hostDn, e.siteName);
  for (const [dn, list] of Object.entries(configured)) for (const site of list) allow(dn, site);
  return sites;
}

/** The signers' sites from the topology in the log and the configured DNs. */
export async function loadSignerSites(
  log: EventLog,
  configured: Readonly<Record<string, readonly string[]>> = {},
): Promise<Map<string, Set<string>>> {
  const endpoints: Endpoint[] = [];
  for await (const e of log.readAll({ filter: { eventTypes: ['ServiceEndpointRegistered'] } }))
    endpoints.push(e.data as EventData<'ServiceEndpointRegistered'>);
  return signerSites(endpoints, configured);
}

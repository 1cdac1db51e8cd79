/**
 * Reads what the GLUE 2 description needs from the log: the latest collector
 * snapshot per site and the site's GOCDB key. Small enough to scan the
 * collector and site streams directly rather than keep a read model.
 */
import type { EventLog } from '../eventlog/port.ts';
import type { EventData } from '../events/catalogue.ts';
import { glue2ForSite, type CollectorSnapshot, type Glue2Document, type Glue2Options } from './cloud-info.ts';

export async function latestSnapshots(log: EventLog): Promise<Map<string, CollectorSnapshot>> {
  const latest = new Map<string, CollectorSnapshot>();
  for await (const e of log.readAll({ filter: { eventTypes: ['CollectorSnapshotTaken'] } })) {
    const s = e.data as CollectorSnapshot;
    const known = latest.get(s.siteName);
    if (!known || s.takenAt >= known.takenAt) latest.set(s.siteName, s);
  }
  return latest;
}

async function gocdbIds(log: EventLog): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for await (const e of log.readAll({ filter: { eventTypes: ['ServiceEndpointRegistered'] } })) {
    const d = e.data as EventData<'ServiceEndpointRegistered'>;
    if (d.primaryKey && (d.service === 'org.openstack.nova' || !ids.has(d.siteName))) ids.set(d.siteName, d.primaryKey);
  }
  return ids;
}

/** GLUE 2 documents for every site a collector has seen (or just `site`). */
export async function glue2Documents(
  log: EventLog,
  site?: string,
  options: Glue2Options = {},
): Promise<Map<string, Glue2Document>> {
  const [snapshots, ids] = await Promise.all([latestSnapshots(log), gocdbIds(log)]);
  const out = new Map<string, Glue2Document>();
  for (const [siteName, snapshot] of snapshots) {
    if (site !== undefined && siteName !== site) continue;
    out.set(siteName, glue2ForSite(snapshot, { siteName, gocdbId: ids.get(siteName) ?? null }, options));
  }
  return out;
}

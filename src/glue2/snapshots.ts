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

/** Every collector snapshot per site, oldest first (the integration status dates the site's GLUE documents). */
export async function snapshotHistory(log: EventLog): Promise<Map<string, CollectorSnapshot[]>> {
  const out = new Map<string, CollectorSnapshot[]>();
  for await (const e of log.readAll({ filter: { eventTypes: ['CollectorSnapshotTaken'] } })) {
    const s = e.data as CollectorSnapshot;
    const list = out.get(s.siteName);
    if (list) list.push(s);
    else out.set(s.siteName, [s]);
  }
  for (const list of out.values()) list.sort((a, b) => (a.takenAt < b.takenAt ? -1 : a.takenAt > b.takenAt ? 1 : 0));
  return out;
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

const GLUE2_INPUTS = { eventTypes: ['CollectorSnapshotTaken', 'ServiceEndpointRegistered'] };

/**
 * Every site's GLUE 2 document, rebuilt only when a collector snapshot or an endpoint registration has been appended
 * since the last build: asking costs one head lookup, not a scan of the log per site.
 */
export class LatestGlue2 {
  private built: { head: bigint; documents: Promise<Map<string, Glue2Document>> } | undefined;

  constructor(private readonly log: EventLog) {}

  async documents(): Promise<Map<string, Glue2Document>> {
    const head = await this.log.headPosition(GLUE2_INPUTS);
    if (this.built?.head === head) return this.built.documents;
    const documents = glue2Documents(this.log);
    this.built = { head, documents };
    // A failed build is not kept: the next caller tries again.
    documents.catch(() => {
      if (this.built?.documents === documents) this.built = undefined;
    });
    return documents;
  }
}

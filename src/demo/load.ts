/**
 * Loads the demo federation, generated up to the current hour, into an event log through the ordinary ingest
 * services: each APEL message is received when its site published it, topology and probe results at load time.
 */
import { DateTime } from 'luxon';
import path from 'node:path';
import type { EventLog } from '../eventlog/port.ts';
import { packagePath } from '../package-files.ts';
import { ingestApelMessage } from '../ingest/apel-service.ts';
import { ingestGocdb, ingestProbeResults } from '../ingest/availability-service.ts';
import { snapshotEvent } from '../collectors/emit.ts';
import { demoFederation } from './federation.ts';

/** The committed snapshot of the demo federation (`npm run demo:fixtures`), sample input for tests and benchmarks. */
export const DEMO_DIR = packagePath('fixtures', 'demo');

export interface DemoLoaded {
  records: number;
  rejected: number;
  probeResults: number;
  topology: number;
}

export async function loadDemo(log: EventLog, now = new Date()): Promise<DemoLoaded> {
  const { files, published, snapshots } = demoFederation(DateTime.fromJSDate(now, { zone: 'utc' }));
  const out: DemoLoaded = { records: 0, rejected: 0, probeResults: 0, topology: 0 };
  for (const file of ['get_site_list.xml', 'get_service_endpoint.xml', 'get_downtime.xml']) {
    const r = await ingestGocdb(log, files[`gocdb/${file}`]!, {
      publisher: 'demo:gocdb',
      source: file,
      receivedAt: now,
    });
    out.topology += r.accepted + r.unchanged;
  }
  for (const name of Object.keys(published).sort()) {
    const file = path.basename(name);
    const r = await ingestApelMessage(log, files[name]!, {
      publisher: `demo:${file.replace(/-\d{4}-\d{2}\.txt$/, '')}`,
      messageName: file,
      receivedAt: published[name]!.toJSDate(),
    });
    out.records += r.accepted + r.unchanged;
    out.rejected += r.rejected;
  }
  const probes = await ingestProbeResults(log, files['probes/results.jsonl']!, {
    publisher: 'demo:argo',
    source: 'results.jsonl',
    receivedAt: now,
  });
  out.probeResults = probes.accepted + probes.unchanged;
  for (const snapshot of snapshots) {
    const { stream, event } = snapshotEvent(snapshot);
    await log.append(stream, [event]);
  }
  return out;
}

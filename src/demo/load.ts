/** Loads fixtures/demo (GOCDB, APEL messages, probe results) into an event log through the ordinary ingest services. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventLog } from '../eventlog/port.ts';
import { ingestApelMessage } from '../ingest/apel-service.ts';
import { ingestGocdb, ingestProbeResults } from '../ingest/availability-service.ts';

export const DEMO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/demo');

export interface DemoLoaded {
  records: number;
  rejected: number;
  probeResults: number;
  topology: number;
}

export async function loadDemo(log: EventLog, dir = DEMO_DIR): Promise<DemoLoaded> {
  const out: DemoLoaded = { records: 0, rejected: 0, probeResults: 0, topology: 0 };
  const receivedAt = new Date();
  for (const file of ['get_site_list.xml', 'get_service_endpoint.xml', 'get_downtime.xml']) {
    const r = await ingestGocdb(log, readFileSync(path.join(dir, 'gocdb', file), 'utf8'), {
      publisher: 'demo:gocdb',
      source: file,
      receivedAt,
    });
    out.topology += r.accepted + r.unchanged;
  }
  for (const file of readdirSync(path.join(dir, 'apel')).sort()) {
    const r = await ingestApelMessage(log, readFileSync(path.join(dir, 'apel', file), 'utf8'), {
      publisher: `demo:${file.replace(/-\d{4}-\d{2}\.txt$/, '')}`,
      messageName: file,
      receivedAt,
    });
    out.records += r.accepted + r.unchanged;
    out.rejected += r.rejected;
  }
  const probes = await ingestProbeResults(log, readFileSync(path.join(dir, 'probes', 'results.jsonl'), 'utf8'), {
    publisher: 'demo:argo',
    source: 'results.jsonl',
    receivedAt,
  });
  out.probeResults = probes.accepted + probes.unchanged;
  return out;
}

/** A collector snapshot (what a site's GLUE 2.1 document is built from) with one image and one flavour. */
import { snapshotEvent } from '../../src/collectors/emit.ts';
import type { EventLog } from '../../src/eventlog/port.ts';

export function appendSnapshot(log: EventLog, site: string, takenAt: string, host = 'host.example.org') {
  const { stream, event } = snapshotEvent({
    source: `${site.toLowerCase()}-openstack`,
    siteName: site,
    takenAt,
    middleware: 'openstack',
    endpoints: [{ url: `https://${host}:5000/v3`, type: 'identity', interface: 'public', region: null }],
    images: [
      {
        id: 'img-u',
        name: 'ubuntu-24.04',
        osName: 'ubuntu',
        osVersion: '24.04',
        architecture: 'x86_64',
        marketplaceUrl: null,
        description: null,
      },
    ],
    flavors: [
      {
        id: 'm1',
        name: 'm1.small',
        vcpus: 1,
        ramMb: 2048,
        diskGb: 20,
        isPublic: true,
        benchmarkType: null,
        benchmark: null,
      },
    ],
    shares: [],
  });
  return log.append(stream, [event]);
}

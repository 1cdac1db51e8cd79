/**
 * A small federation, built through the real ingest functions into a data
 * directory: four resource centres, three VOs, three months of probe results
 * (August to October 2026) and hand-written APEL messages for September and
 * October 2026. The expected figures are worked out in report.test.ts.
 *
 *   SITE-A  registered; probes OK every day; publishes in Sep and Oct.
 *   SITE-B  registered; probes CRITICAL on days 1–10 of each month, OK after; publishes in Oct only
 *           (and one bad record, quarantined).
 *   SITE-C  registered; probes OK from Sep 1 to Oct 15, then silent; publishes in Sep only.
 *   SITE-D  not registered, not monitored; publishes in Oct.
 *   SITE-A and SITE-C have a collector snapshot (a GLUE 2.1 document with an image and a flavour) from Sep 1.
 */
import { DateTime } from 'luxon';
import type { EventLog } from '../../src/eventlog/port.ts';
import { ingestApelMessage } from '../../src/ingest/apel-service.ts';
import { ingestGocdb, ingestProbeResults } from '../../src/ingest/availability-service.ts';
import { appendSnapshot } from '../support/snapshots.ts';

const endpoint = (host: string, site: string) =>
  `<SERVICE_ENDPOINT><HOSTNAME>${host}</HOSTNAME><SERVICE_TYPE>org.openstack.nova</SERVICE_TYPE><IN_PRODUCTION>Y</IN_PRODUCTION><NODE_MONITORED>Y</NODE_MONITORED><SITENAME>${site}</SITENAME><ROC_NAME>NGI_X</ROC_NAME></SERVICE_ENDPOINT>`;
const TOPOLOGY = `<results>${endpoint('a.example.org', 'SITE-A')}${endpoint('b.example.org', 'SITE-B')}${endpoint('c.example.org', 'SITE-C')}</results>`;

const METRICS = ['eu.egi.cloud.OpenStack-VM', 'org.nagios.Keystone-TCP'];

/** Both FedCloud metrics of a host at 00:00:00 of each day in [from, to], status chosen per day. */
function dailyProbes(host: string, from: string, to: string, status: (day: DateTime) => string): string[] {
  const lines: string[] = [];
  for (
    let d = DateTime.fromISO(from, { zone: 'utc' });
    d <= DateTime.fromISO(to, { zone: 'utc' });
    d = d.plus({ days: 1 })
  ) {
    for (const metric of METRICS) {
      lines.push(
        JSON.stringify({
          timestamp: `${d.toISODate()}T00:00:00Z`,
          hostname: host,
          service: 'org.openstack.nova',
          metric,
          status: status(d),
          monitoring_host: 'mon.example.org',
        }),
      );
    }
  }
  return lines;
}

const record = (fields: Record<string, string | number>) =>
  Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
const message = (...records: Array<Record<string, string | number>>) =>
  `APEL-cloud-message: v0.4\n${records.map(record).join('\n%%\n')}\n%%\n`;
const vo = (name: string) => `/${name}/Role=NULL/Capability=NULL`;

/** [received at, message] in the order they are sent. */
const MESSAGES: Array<[string, string]> = [
  [
    '2026-09-06T00:00:00Z',
    message({
      VMUUID: 'vm-c1',
      SiteName: 'SITE-C',
      FQAN: vo('vo.gamma'),
      Status: 'completed',
      StartTime: '2026-09-05T00:00:00Z',
      EndTime: '2026-09-05T05:00:00Z',
      WallDuration: 18000,
      CpuCount: 8,
    }),
  ],
  [
    '2026-09-30T12:00:00Z',
    message(
      {
        VMUUID: 'vm-a1',
        SiteName: 'SITE-A',
        FQAN: vo('vo.alpha'),
        Status: 'started',
        StartTime: '2026-09-30T00:00:00Z',
        WallDuration: 36000,
        CpuCount: 2,
      },
      {
        VMUUID: 'vm-a3',
        SiteName: 'SITE-A',
        FQAN: vo('vo.alpha'),
        Status: 'started',
        StartTime: '2026-09-29T00:00:00Z',
        WallDuration: 7200,
        CpuCount: 1,
      },
    ),
  ],
  [
    '2026-10-04T00:00:00Z',
    message({
      VMUUID: 'vm-d1',
      SiteName: 'SITE-D',
      FQAN: 'vo.alpha',
      Status: 'started',
      StartTime: '2026-10-03T00:00:00Z',
      WallDuration: 7200,
      CpuCount: 0.5,
    }),
  ],
  [
    '2026-10-28T00:00:00Z',
    message(
      {
        VMUUID: 'vm-b1',
        SiteName: 'SITE-B',
        FQAN: vo('vo.beta'),
        Status: 'started',
        StartTime: '2026-10-20T00:00:00Z',
        WallDuration: 36000,
        CpuCount: 1,
      },
      {
        VMUUID: 'vm-b2',
        SiteName: 'SITE-B',
        FQAN: vo('vo.beta'),
        Status: 'started',
        StartTime: '2026-10-20T00:00:00Z',
        WallDuration: '1.5',
        CpuCount: 1,
      },
    ),
  ],
  [
    '2026-10-29T00:00:00Z',
    message(
      {
        VMUUID: 'vm-a1',
        SiteName: 'SITE-A',
        FQAN: vo('vo.alpha'),
        Status: 'started',
        StartTime: '2026-09-30T00:00:00Z',
        WallDuration: 136800,
        CpuCount: 2,
      },
      {
        VMUUID: 'vm-a2',
        SiteName: 'SITE-A',
        FQAN: vo('vo.beta'),
        Status: 'completed',
        StartTime: '2026-10-10T00:00:00Z',
        EndTime: '2026-10-11T00:00:00Z',
        WallDuration: 86400,
        CpuCount: 4,
      },
      // Nova reset the start on a rebuild: the cumulative wall time went down (a negative difference).
      {
        VMUUID: 'vm-a3',
        SiteName: 'SITE-A',
        FQAN: vo('vo.alpha'),
        Status: 'started',
        StartTime: '2026-10-02T00:00:00Z',
        WallDuration: 3600,
        CpuCount: 1,
      },
    ),
  ],
];

export async function buildFederation(log: EventLog): Promise<void> {
  await ingestGocdb(log, TOPOLOGY, { publisher: 'fixture' });
  const probes = [
    ...dailyProbes('a.example.org', '2026-08-01', '2026-10-31', () => 'OK'),
    ...dailyProbes('b.example.org', '2026-08-01', '2026-10-31', (d) => (d.day <= 10 ? 'CRITICAL' : 'OK')),
    ...dailyProbes('c.example.org', '2026-09-01', '2026-10-15', () => 'OK'),
  ];
  await ingestProbeResults(log, probes.join('\n'), { publisher: 'fixture' });
  for (const [receivedAt, text] of MESSAGES)
    await ingestApelMessage(log, text, { publisher: 'fixture', receivedAt: new Date(receivedAt) });
  await appendSnapshot(log, 'SITE-A', '2026-09-01T00:00:00Z', 'a.example.org');
  await appendSnapshot(log, 'SITE-C', '2026-09-01T00:00:00Z', 'c.example.org');
}

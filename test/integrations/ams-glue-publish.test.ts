import test from 'ava';
import { streams, type EventData } from '../../src/events/catalogue.ts';
import { encode } from '../../src/events/codec.ts';
import { amsConfigSchema } from '../../src/integrations/ams/config.ts';
import { amsJobs, publishGlueConfigured } from '../../src/integrations/ams/run.ts';
import { openEventLog } from '../../src/eventlog/open.ts';
import type { EventLog } from '../../src/eventlog/port.ts';
import { AMS_TOKEN, AMS_URL, fakeAms } from '../support/fake-ams.ts';
import { tempDir } from '../support/tmp.ts';

async function seed(log: EventLog) {
  const snapshot = (siteName: string): EventData<'CollectorSnapshotTaken'> => ({
    source: `os-${siteName}`,
    siteName,
    takenAt: '2026-03-12T10:00:00.000Z',
    middleware: 'openstack',
    endpoints: [
      { url: `https://keystone.${siteName}.example.org:5000/v3`, type: 'identity', interface: 'public', region: null },
    ],
    images: [],
    flavors: [
      { id: 'f1', name: 'm1', vcpus: 2, ramMb: 4096, diskGb: 20, isPublic: true, benchmarkType: null, benchmark: null },
    ],
    shares: [{ projectId: 'p1', projectName: 'ops', vo: 'ops', runningVm: 1, totalVm: 1 }],
  });
  const endpoint: EventData<'ServiceEndpointRegistered'> = {
    siteName: 'SITE-A',
    hostname: 'keystone.SITE-A.example.org',
    service: 'org.openstack.nova',
    url: 'https://keystone.SITE-A.example.org:5000/v3',
    primaryKey: '101G0',
    inProduction: true,
    monitored: true,
    scopes: ['FedCloud'],
  };
  for (const site of ['SITE-A', 'SITE-B']) {
    const s = snapshot(site);
    await log.append(streams.collector(s.source), [encode('CollectorSnapshotTaken', s, s)]);
  }
  await log.append(streams.site('SITE-A'), [encode('ServiceEndpointRegistered', endpoint, endpoint)]);
}

const config = amsConfigSchema.parse({
  url: AMS_URL,
  project: 'accounting',
  token: AMS_TOKEN,
  glue: { project: 'egi_cloud_info' },
});

test.serial("each site's GLUE 2.1 document goes to its topic as cloud-info-provider publishes it", async (t) => {
  const { dir, cleanup } = tempDir();
  const ams = fakeAms();
  const log = await openEventLog({ dataDir: dir, eventstoreUrl: undefined });
  try {
    await seed(log);
    const now = () => new Date('2026-03-12T11:00:00Z');
    const dry = await publishGlueConfigured(log, config, { dryRun: true, now });
    t.deepEqual(
      dry.map((p) => [p.siteName, p.topic, p.messageId]),
      [
        ['SITE-A', 'SITE_SITE-A_ENDPOINT_101G0', null],
        ['SITE-B', null, null],
      ],
      'SITE-B has no GOCDB id for the topic',
    );
    t.deepEqual(ams.published('egi_cloud_info', 'SITE_SITE-A_ENDPOINT_101G0'), [], 'a dry run publishes nothing');

    const [job] = amsJobs(config, log, () => Promise.reject(new Error('no accounting needed')), { now });
    t.is(job!.name, 'ams-glue2');
    t.is(job!.cron, '15 * * * *');
    await job!.run({ scheduledFor: now() });
    const [message] = ams.published('egi_cloud_info', 'SITE_SITE-A_ENDPOINT_101G0');
    t.deepEqual(message!.attributes, {});
    const doc = JSON.parse(message!.data) as Record<string, Array<Record<string, unknown>>>;
    t.like(doc['CloudComputingService']![0]!, {
      CreationTime: '2026-03-12T11:00:00.000',
      OtherInfo: { gocdb_id: '101G0', site_name: 'SITE-A' },
    });
    t.is(doc['CloudComputingEndpoint']![0]!['Authentication'], 'oidc');
  } finally {
    ams.done();
    await log.close();
    cleanup();
  }
});

test('serve schedules one job per configured AMS section, on its cron', (t) => {
  const all = amsConfigSchema.parse({
    url: AMS_URL,
    project: 'accounting',
    token: AMS_TOKEN,
    certificate: 'fedledger.pem',
    key: 'fedledger.key',
    receive: { subscription: 'incoming', trustedCaDir: '/etc/grid-security/certificates' },
    send: { topic: 'portal', cron: '0 3 * * *' },
    glue: {},
  });
  const noDb = () => Promise.reject(new Error('unused'));
  // Listing the jobs opens nothing: the log is never touched.
  const noLog = {} as EventLog;
  t.deepEqual(
    amsJobs(all, noLog, noDb).map((j) => [j.name, j.cron]),
    [
      ['ams-receive', '*/10 * * * *'],
      ['ams-send', '0 3 * * *'],
      ['ams-glue2', '15 * * * *'],
    ],
  );
  t.deepEqual(amsJobs(undefined, noLog, noDb), []);
  t.throws(() => amsConfigSchema.parse({ url: AMS_URL, project: 'p', certificate: 'c.pem' }), {
    message: /certificate and key go together/,
  });
});

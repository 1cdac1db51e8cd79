import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { fileURLToPath } from 'node:url';
import nock from '../support/nock.ts';
import { recordingLogger } from '../support/log-lines.ts';
import { tempDir } from '../support/tmp.ts';
import { loadCollectorConfig, parseCollectorConfig } from '../../src/collectors/config.ts';
import { collectorJob } from '../../src/collectors/job.ts';
import { resolveSecret } from '../../src/collectors/secrets.ts';
import { openEventLog } from '../../src/eventlog/open.ts';
import { JobScheduler } from '../../src/jobs/scheduler.ts';
import { glue2ForSite, type CollectorSnapshot } from '../../src/glue2/cloud-info.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
const reference = path.resolve(repoRoot, '../shared/reference/glue2/cloud-info-openstack.json');

test.before(() => nock.disableNetConnect());
test.afterEach.always(() => nock.cleanAll());

const oneSource = {
  name: 'one',
  kind: 'opennebula',
  site: 'S',
  rpcUrl: 'http://one.example.org:2633/RPC2',
  username: 'oneadmin',
  password: { env: 'P' },
  retries: 0,
  cron: '10 * * * *',
};

test('a YAML configuration loads with defaults; a bad cron expression names its field', (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const file = path.join(dir, 'collectors.yaml');
  writeFileSync(
    file,
    'sources:\n  - name: one\n    kind: opennebula\n    site: S\n    rpcUrl: http://one.example.org:2633/RPC2\n    username: oneadmin\n    password: { file: /run/secrets/one }\n',
  );
  const config = loadCollectorConfig(file);
  t.like(config.sources[0], { cron: '10 * * * *', timeoutMs: 30_000, retries: 3 });
  t.throws(() => parseCollectorConfig({ sources: [{ ...oneSource, cron: '61 * * * *' }] }, 'c.json'), {
    message: /c\.json: sources\.0\.cron: not a valid cron expression/,
  });
  t.throws(() => loadCollectorConfig(undefined, {}), { message: /FEDLEDGER_COLLECTORS/ });
});

test('secrets come from the environment or a file and never print', (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const file = path.join(dir, 'pw');
  writeFileSync(file, 'from-file\n');
  t.is(resolveSecret({ file }, 'x').reveal(), 'from-file');
  const secret = resolveSecret({ env: 'PW' }, 'x', { PW: 'from-env' });
  t.is(secret.reveal(), 'from-env');
  t.false(`${secret} ${JSON.stringify({ secret })} ${inspect(secret)}`.includes('from-env'));
  t.throws(() => resolveSecret({ env: 'MISSING' }, 'src.auth', {}), {
    message: /src\.auth: environment variable MISSING is not set/,
  });
});

test.serial('a job never overlaps itself, and fires on its cron expression in UTC', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const log = await openEventLog({ dataDir: dir });
  t.teardown(() => log.close());
  nock('http://one.example.org:2633').post('/RPC2').delay(200).reply(500, 'busy');
  const { logger, lines } = recordingLogger();
  const skipped = () => lines.filter((l) => l['msg'] === 'job still running; run skipped').map((l) => l['job']);
  const [source] = parseCollectorConfig({ sources: [oneSource] }, 't').sources;
  const job = new JobScheduler({ logger }).add(
    collectorJob(source!, log, { env: { P: 'pw' }, now: () => new Date('2026-03-12T10:20:00Z') }),
  );
  const first = job.run();
  t.true(job.running);
  t.is(await job.run(), null);
  t.deepEqual(skipped(), ['collect:one']);
  t.is((await first)!.reachability.status, 'CRITICAL');
  t.false(job.running);
  t.is(job.nextRun(new Date('2026-03-12T10:20:00Z')).toISOString(), '2026-03-12T11:10:00.000Z');
});

const snapshot: CollectorSnapshot = {
  source: 'example-openstack',
  siteName: 'EXAMPLE-CLOUD',
  takenAt: '2026-03-12T10:20:00Z',
  middleware: 'openstack',
  endpoints: [
    { url: 'https://keystone.cloud.example.org:5000/v3', type: 'identity', interface: 'public', region: null },
    { url: 'https://nova.cloud.example.org:8774/v2.1/p1', type: 'compute', interface: 'public', region: 'RegionOne' },
  ],
  images: [
    {
      id: 'img-1',
      name: 'EGI Ubuntu 22.04',
      osName: 'ubuntu',
      osVersion: '22.04',
      architecture: 'x86_64',
      marketplaceUrl: 'https://appdb.egi.eu/store/vo/image/x:1/',
      description: null,
    },
  ],
  flavors: [
    {
      id: 'm2.small',
      name: 'm2.small',
      vcpus: 1,
      ramMb: 2048,
      diskGb: 20,
      isPublic: true,
      benchmarkType: null,
      benchmark: null,
    },
    {
      id: 'm2.large',
      name: 'm2.large',
      vcpus: 4,
      ramMb: 8192,
      diskGb: 50,
      isPublic: true,
      benchmarkType: 'HEPSPEC06',
      benchmark: 12.35,
    },
  ],
  shares: [
    { projectId: 'p1', projectName: 'vo.access.egi.eu', vo: 'vo.access.egi.eu', runningVm: 2, totalVm: 3 },
    { projectId: 'p2', projectName: 'no-vo', vo: null, runningVm: 1, totalVm: 1 },
  ],
};

test('GLUE 2: service, endpoint, images, instance types and a share per VO-mapped project, linked by id', (t) => {
  const doc = glue2ForSite(snapshot, { siteName: 'EXAMPLE-CLOUD', gocdbId: '12345G0' });
  const service = doc.CloudComputingService[0]!;
  t.like(service, {
    ID: 'https://keystone.cloud.example.org:5000/v3_cloud.compute',
    CreationTime: '2026-03-12T10:20:00',
    TotalVM: 4,
    RunningVM: 3,
    OtherInfo: { gocdb_id: '12345G0', site_name: 'EXAMPLE-CLOUD' },
  });
  t.like(doc.CloudComputingManager[0]!, { InstanceMaxCPU: 4, InstanceMaxRAM: 8192 });
  t.like(doc.CloudComputingEndpoint[0]!, {
    URL: 'https://keystone.cloud.example.org:5000/v3',
    InterfaceName: 'org.openstack.nova',
  });
  t.deepEqual(
    doc.Share.map((s) => s['ID']),
    ['https://keystone.cloud.example.org:5000/v3_OpenStack_v3_oidc_share_vo.access.egi.eu_p1'],
    'a project without a VO is not advertised',
  );
  t.deepEqual(doc.MappingPolicy[0]!['Rule'], ['VO:vo.access.egi.eu']);
  t.deepEqual((doc.CloudComputingImage[0]!['Associations'] as { Share: string[] }).Share, [doc.Share[0]!['ID']]);
  t.deepEqual(
    doc.CloudComputingInstanceType.map((f) => [f['Name'], f['CPU'], f['RAM'], f['Disk']]),
    [
      ['m2.small', 1, 2048, 20],
      ['m2.large', 4, 8192, 50],
    ],
  );
});

const haveReference = existsSync(reference);
(haveReference ? test : test.skip)(
  `GLUE 2 document has cloud-info-provider's classes and keys${haveReference ? '' : ' (skipped: ../shared/reference not present)'}`,
  (t) => {
    const expected = JSON.parse(readFileSync(reference, 'utf8')) as Record<string, Array<Record<string, unknown>>>;
    const doc = glue2ForSite(snapshot, { siteName: 'EXAMPLE-CLOUD', gocdbId: '12345G0' }) as Record<
      string,
      Array<Record<string, unknown>>
    >;
    t.deepEqual(Object.keys(doc).sort(), Object.keys(expected).sort());
    const optional = new Set([
      'StatusInfo',
      'ServiceAUP',
      'InterfaceVersion',
      'HealthStateInfo',
      'ImplementationVersion',
      'DowntimeInfo',
      'Authentication',
      'IssuerCA',
      'TrustedCA',
      'MaxVM',
    ]);
    for (const [cls, items] of Object.entries(expected)) {
      const missing = Object.keys(items[0]!).filter((k) => !optional.has(k) && !(k in doc[cls]![0]!));
      t.deepEqual(missing, [], cls);
    }
  },
);

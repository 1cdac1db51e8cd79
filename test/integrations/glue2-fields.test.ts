import test from 'ava';
import { glue2ForSite, NOT_DERIVED, type CollectorSnapshot } from '../../src/glue2/cloud-info.ts';
import { glueTopic } from '../../src/integrations/ams/glue-publish.ts';

/**
 * The fields cloud-info-provider's OpenStack provider fills and its glue21json formatter writes, per class
 * (EGI-Federation/cloud-info-provider: cloud_info_provider/formatters/glue.py, providers/base.py, providers/openstack.py).
 * Manager fields the provider leaves unset (ProductName, HypervisorName, TotalCPUs, ...) are not written by it either.
 */
/** Every GLUE object's own fields in cloud-info-provider's JSON. */
const BASE = ['ID', 'Validity', 'CreationTime', 'Associations'];
const CLOUD_INFO_PROVIDER_FIELDS: Record<string, string[]> = {
  CloudComputingService: [
    ...BASE,
    'Name',
    'OtherInfo',
    'Type',
    'QualityLevel',
    'StatusInfo',
    'ServiceAUP',
    'Complexity',
    'Capability',
    'TotalVM',
    'RunningVM',
    'SuspendedVM',
    'HaltedVM',
  ],
  CloudComputingManager: [...BASE, 'InstanceMaxCPU', 'InstanceMinCPU', 'InstanceMaxRAM', 'InstanceMinRAM'],
  CloudComputingEndpoint: [
    ...BASE,
    'Name',
    'Capability',
    'QualityLevel',
    'InterfaceName',
    'InterfaceVersion',
    'HealthState',
    'HealthStateInfo',
    'ServingState',
    'Technology',
    'Implementor',
    'ImplementationName',
    'ImplementationVersion',
    'DowntimeInfo',
    'Semantics',
    'Authentication',
    'IssuerCA',
    'TrustedCA',
    'URL',
  ],
  CloudComputingImage: [
    ...BASE,
    'Name',
    'OtherInfo',
    'MarketplaceURL',
    'OSPlatform',
    'OSName',
    'OSVersion',
    'Description',
    'AccessInfo',
  ],
  CloudComputingInstanceType: [...BASE, 'Name', 'Platform', 'CPU', 'RAM', 'Disk', 'NetworkIn', 'NetworkOut'],
  Share: [
    ...BASE,
    'Name',
    'OtherInfo',
    'InstanceMaxCPU',
    'InstanceMaxRAM',
    'TotalVM',
    'RunningVM',
    'SuspendedVM',
    'HaltedVM',
    'MaxVM',
    'ProjectID',
  ],
  MappingPolicy: [...BASE, 'Rule', 'Scheme'],
  AccessPolicy: [...BASE, 'Rule', 'Scheme'],
};

const snapshot: CollectorSnapshot = {
  source: 'test-openstack',
  siteName: 'EXAMPLE-CLOUD',
  takenAt: '2026-03-12T10:20:00.000Z',
  middleware: 'openstack',
  endpoints: [
    { url: 'https://keystone.example.org:5000/v3', type: 'identity', interface: 'public', region: null },
    { url: 'https://glance.example.org:9292', type: 'image', interface: 'public', region: null },
  ],
  images: [
    {
      id: 'img-appdb',
      name: 'EGI Ubuntu',
      osName: 'ubuntu',
      osVersion: '22.04',
      architecture: 'x86_64',
      marketplaceUrl: 'https://appdb.egi.eu/store/vo/image/x:1/',
      description: 'Ubuntu for EGI',
    },
    {
      id: 'img-local',
      name: 'local',
      osName: null,
      osVersion: null,
      architecture: null,
      marketplaceUrl: null,
      description: null,
    },
  ],
  flavors: [
    { id: 'f1', name: 'm1', vcpus: 2, ramMb: 4096, diskGb: 20, isPublic: true, benchmarkType: null, benchmark: null },
  ],
  shares: [{ projectId: 'p1', projectName: 'ops', vo: 'ops', runningVm: 1, totalVm: 2 }],
};

test("GLUE 2.1 document: cloud-info-provider's fields, class by class, but for those listed as not derivable", (t) => {
  const doc = glue2ForSite(snapshot, { siteName: 'EXAMPLE-CLOUD', gocdbId: '1G0' }) as Record<
    string,
    Array<Record<string, unknown>>
  >;
  for (const [cls, fields] of Object.entries(CLOUD_INFO_PROVIDER_FIELDS)) {
    const missing = fields.filter((f) => !(f in doc[cls]![0]!) && !(`${cls}.${f}` in NOT_DERIVED));
    t.deepEqual(missing, [], cls);
    const claimedMissing = fields.filter((f) => f in doc[cls]![0]! && `${cls}.${f}` in NOT_DERIVED);
    t.deepEqual(claimedMissing, [], `${cls}: listed as not derived, yet written`);
  }
  t.false('CloudComputingVirtualAccelerator' in doc);
});

test('GLUE 2.1 values cloud-info-provider derives from the site and its endpoint', (t) => {
  const doc = glue2ForSite(snapshot, { siteName: 'EXAMPLE-CLOUD', gocdbId: '1G0' });
  t.like(doc.CloudComputingService[0]!, {
    StatusInfo: 'https://argo.egi.eu/egi/report-status/Critical/SITES/EXAMPLE-CLOUD',
    ServiceAUP: 'http://go.egi.eu/aup',
  });
  t.like(doc.CloudComputingEndpoint[0]!, {
    HealthStateInfo: 'Endpoint functioning properly',
    DowntimeInfo: 'https://goc.egi.eu/portal/index.php?Page_Type=Downtimes_Calendar&site=EXAMPLE-CLOUD',
    Authentication: 'oidc',
    IssuerCA: 'UNKNOWN',
    TrustedCA: ['UNKNOWN'],
  });
  const [appdb, local] = doc.CloudComputingImage;
  t.is(appdb!['MarketplaceURL'], 'https://appdb.egi.eu/store/vo/image/x:1/');
  t.like(local!, {
    MarketplaceURL: 'https://glance.example.org:9292/v2/images/img-local/file',
    OSName: 'UNKNOWN',
    OSVersion: 'UNKNOWN',
    OSPlatform: 'UNKNOWN',
    Description: 'UNKNOWN',
  });
  const custom = glue2ForSite(snapshot, { siteName: 'EXAMPLE-CLOUD', gocdbId: null }, { authentication: 'password' });
  t.is(custom.CloudComputingEndpoint[0]!['Authentication'], 'password');
});

test('GLUE topics: the site and its GOCDB id put in the template; none when the id is needed and missing', (t) => {
  t.is(glueTopic('SITE_{site}_ENDPOINT_{gocdbId}', 'IFCA-LCG2', '12249G0'), 'SITE_IFCA-LCG2_ENDPOINT_12249G0');
  t.is(glueTopic('SITE_{site}_ENDPOINT_{gocdbId}', 'IFCA-LCG2', null), null);
  t.is(glueTopic('cloud-info-{site}', 'IFCA-LCG2', null), 'cloud-info-IFCA-LCG2');
});

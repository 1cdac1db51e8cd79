/**
 * A site's GLUE 2.1 cloud description in cloud-info-provider's JSON layout
 * (top-level keys are GLUE class names, each a list), built from the latest
 * collector snapshot of the site and its topology. Pure.
 */
import type { EventData } from '../events/catalogue.ts';

export type CollectorSnapshot = EventData<'CollectorSnapshotTaken'>;

export interface SiteTopology {
  siteName: string;
  /** GOCDB PRIMARY_KEY of the compute endpoint, when registered. */
  gocdbId: string | null;
}

export interface Glue2Options {
  /** Seconds the description stays valid (cloud-info-provider's default is 43200). */
  validity?: number;
  /** When the description is produced (the snapshot's time by default). */
  creationTime?: string;
  /** The endpoint's authentication, as cloud-info-provider's `--os-auth-type` names it; EGI's sites use OIDC. */
  authentication?: string;
}

/**
 * Fields of cloud-info-provider's GLUE 2.1 JSON that fedledger does not write, and why: a collector snapshot does
 * not hold what they need. docs/integrations.md lists them for operators.
 */
export const NOT_DERIVED: Readonly<Record<string, string>> = {
  'CloudComputingEndpoint.InterfaceVersion':
    "the compute API's microversion, which cloud-info-provider asks Nova for; the collector does not record it",
  'CloudComputingEndpoint.ImplementationVersion': "Nova's version, likewise from Nova's version document",
  'Share.MaxVM': "the project's instance quota; the collector does not read quotas",
  'Share.OtherInfo.quotas': "the project's Nova quotas; likewise",
  'Share.OtherInfo.project_domain_name': "the project's Keystone domain; the snapshot keeps the project's id and name",
  CloudComputingVirtualAccelerator:
    'GPU flavours, from flavour extra specs cloud-info-provider is told to read; the snapshot keeps no extra specs',
};

/** cloud-info-provider's value when it cannot tell, which consumers (the EGI cloud-info API) expect over absence. */
const UNKNOWN = 'UNKNOWN';

/** Drops null values, as cloud-info-provider's formatter drops None fields. */
const present = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));

export type Glue2Document = Record<
  | 'CloudComputingService'
  | 'CloudComputingManager'
  | 'CloudComputingEndpoint'
  | 'CloudComputingImage'
  | 'CloudComputingInstanceType'
  | 'Share'
  | 'MappingPolicy'
  | 'AccessPolicy',
  Array<Record<string, unknown>>
>;

const INTERFACE: Record<
  CollectorSnapshot['middleware'],
  { name: string; implementor: string; implementation: string; semantics: string }
> = {
  openstack: {
    name: 'org.openstack.nova',
    implementor: 'OpenStack Foundation',
    implementation: 'OpenStack Nova',
    semantics: 'https://developer.openstack.org/api-ref/compute',
  },
  opennebula: {
    name: 'org.opennebula.xmlrpc',
    implementor: 'OpenNebula Systems',
    implementation: 'OpenNebula',
    semantics: 'https://docs.opennebula.io/',
  },
};

/** cloud-info-provider writes CreationTime without a zone; it is UTC. */
const glueTime = (iso: string) => iso.replace(/Z$/, '');

export function glue2ForSite(
  snapshot: CollectorSnapshot,
  topology: SiteTopology,
  options: Glue2Options = {},
): Glue2Document {
  const validity = options.validity ?? 43_200;
  const created = glueTime(options.creationTime ?? snapshot.takenAt);
  const base = (id: string) => ({ ID: id, Validity: validity, CreationTime: created });
  const site = topology.siteName;
  const imageService = snapshot.endpoints.find((e) => e.type === 'image')?.url;
  // cloud-info-provider advertises an image without a marketplace entry by its Glance download link.
  const imageUrl = (i: CollectorSnapshot['images'][number]) =>
    i.marketplaceUrl ??
    (imageService ? new URL(`/v2/images/${encodeURIComponent(i.id)}/file`, imageService).href : null);
  const endpointUrl =
    (snapshot.endpoints.find((e) => e.type === 'identity' || e.type === 'opennebula') ?? snapshot.endpoints[0])?.url ??
    '';
  const serviceId = `${endpointUrl}_cloud.compute`;
  const managerId = `${serviceId}_manager`;
  const iface = INTERFACE[snapshot.middleware];
  const endpointId = `${endpointUrl}_${snapshot.middleware === 'openstack' ? 'OpenStack_v3_oidc' : 'OpenNebula_xmlrpc'}`;
  const shareId = (s: CollectorSnapshot['shares'][number]) => `${endpointId}_share_${s.vo ?? 'none'}_${s.projectId}`;
  const shares = snapshot.shares.filter((s) => s.vo !== null);
  const shareIds = shares.map(shareId);
  const maxCpu = Math.max(0, ...snapshot.flavors.map((f) => f.vcpus));
  const maxRam = Math.max(0, ...snapshot.flavors.map((f) => f.ramMb));
  const sum = (k: 'runningVm' | 'totalVm') => snapshot.shares.reduce((n, s) => n + s[k], 0);
  const sharedAssociations = {
    Share: shareIds,
    CloudComputingEndpoint: [endpointId],
    CloudComputingManager: [managerId],
  };

  return {
    CloudComputingService: [
      {
        ...base(serviceId),
        Name: `Cloud Compute service at ${topology.siteName}`,
        OtherInfo: { gocdb_id: topology.gocdbId, site_name: topology.siteName },
        Associations: { AdminDomain: [topology.siteName] },
        Type: 'org.cloud.iaas',
        QualityLevel: 'production',
        StatusInfo: `https://argo.egi.eu/egi/report-status/Critical/SITES/${encodeURIComponent(site)}`,
        ServiceAUP: 'http://go.egi.eu/aup',
        Complexity: `endpointType=1,share=${shares.length}`,
        Capability: ['executionmanagement.dynamicvmdeploy', 'security.accounting'],
        TotalVM: sum('totalVm'),
        RunningVM: sum('runningVm'),
        SuspendedVM: 0,
        HaltedVM: sum('totalVm') - sum('runningVm'),
      },
    ],
    CloudComputingManager: [
      {
        ...base(managerId),
        Associations: { CloudComputingService: [serviceId] },
        InstanceMaxCPU: maxCpu,
        InstanceMinCPU: 0,
        InstanceMaxRAM: maxRam,
        InstanceMinRAM: 0,
      },
    ],
    CloudComputingEndpoint: [
      {
        ...base(endpointId),
        Name: `Cloud computing endpoint for ${endpointId}`,
        Associations: { CloudComputingService: [serviceId] },
        Capability: [],
        QualityLevel: 'production',
        InterfaceName: iface.name,
        HealthState: 'ok',
        HealthStateInfo: 'Endpoint functioning properly',
        ServingState: 'production',
        Technology: 'webservice',
        Implementor: iface.implementor,
        ImplementationName: iface.implementation,
        DowntimeInfo: `https://goc.egi.eu/portal/index.php?Page_Type=Downtimes_Calendar&site=${encodeURIComponent(site)}`,
        Semantics: iface.semantics,
        Authentication: options.authentication ?? 'oidc',
        // What cloud-info-provider writes when it has not read them from a TLS handshake with the endpoint.
        IssuerCA: UNKNOWN,
        TrustedCA: [UNKNOWN],
        URL: endpointUrl,
      },
    ],
    CloudComputingImage: snapshot.images.map((i) =>
      present({
        ...base(i.id),
        Name: i.name,
        OtherInfo: i.marketplaceUrl ? { base_mpuri: i.marketplaceUrl } : {},
        Associations: sharedAssociations,
        MarketplaceURL: imageUrl(i),
        OSPlatform: i.architecture ?? UNKNOWN,
        OSName: i.osName ?? UNKNOWN,
        OSVersion: i.osVersion ?? UNKNOWN,
        Description: i.description ?? UNKNOWN,
        AccessInfo: 'none',
      }),
    ),
    CloudComputingInstanceType: snapshot.flavors.map((f) => ({
      ...base(f.id),
      Name: f.name,
      Associations: sharedAssociations,
      Platform: 'amd64',
      CPU: f.vcpus,
      RAM: f.ramMb,
      Disk: f.diskGb,
      NetworkIn: 'UNKNOWN',
      NetworkOut: true,
      ...(f.benchmarkType ? { OtherInfo: { benchmark_type: f.benchmarkType, benchmark_value: f.benchmark } } : {}),
    })),
    Share: shares.map((s) => ({
      ...base(shareId(s)),
      Name: `${s.vo} - ${s.projectId} share`,
      OtherInfo: { project_name: s.projectName },
      Associations: { CloudComputingService: [serviceId], CloudComputingEndpoint: [endpointId] },
      InstanceMaxCPU: maxCpu,
      InstanceMaxRAM: maxRam,
      TotalVM: s.totalVm,
      RunningVM: s.runningVm,
      SuspendedVM: 0,
      HaltedVM: s.totalVm - s.runningVm,
      ProjectID: s.projectId,
    })),
    MappingPolicy: shares.map((s) => ({
      ...base(`${shareId(s)}_Policy`),
      Associations: { Share: [shareId(s)], PolicyUserDomain: [s.vo] },
      Rule: [`VO:${s.vo}`],
      Scheme: 'org.glite.standard',
    })),
    AccessPolicy: [
      {
        ...base(`${endpointId}_policy`),
        Associations: { CloudComputingEndpoint: [endpointId] },
        Rule: [...new Set(shares.map((s) => `VO:${s.vo}`))],
        Scheme: 'org.glite.standard',
      },
    ],
  };
}

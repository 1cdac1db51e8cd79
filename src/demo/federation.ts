/**
 * A deterministic demo federation: 9 sites (6 OpenStack, 3 OpenNebula) in
 * 6 NGIs, 12 communities, VM usage as APEL cloud messages (cASO-shaped for
 * OpenStack, oneacct-shaped for OpenNebula), probe results with outages,
 * and GOCDB topology and downtimes. It covers the six months before the hour
 * it is generated for, up to that hour (the current month so far, probes in
 * each of the last 24 hours), so every view of a freshly loaded demo is
 * alive. Pure: the same seed and end give the same files, byte for byte.
 * Collector snapshots (the sites' GLUE 2.1 documents) and a candidate site
 * that has only registered put every integration state on show.
 */
import { OPENNEBULA_SERVICE, OPENSTACK_SERVICE } from '../availability/service-types.ts';
import type { EventData } from '../events/catalogue.ts';
import { DateTime } from 'luxon';

export interface DemoSite {
  name: string;
  ngi: string;
  country: string;
  middleware: 'openstack' | 'opennebula';
  host: string;
  /** Relative size: VMs started per month. */
  vmsPerMonth: number;
  /** Outages per month (CRITICAL VM probe for some hours). */
  outagesPerMonth: number;
}

export const DEMO_SITES: readonly DemoSite[] = [
  {
    name: 'CESNET-MCC',
    ngi: 'NGI_CZ',
    country: 'Czech Republic',
    middleware: 'openstack',
    host: 'identity.cloud.muni.example.org',
    vmsPerMonth: 40,
    outagesPerMonth: 1,
  },
  {
    name: 'IFCA-LCG2',
    ngi: 'NGI_IBERGRID',
    country: 'Spain',
    middleware: 'openstack',
    host: 'keystone.ifca.example.org',
    vmsPerMonth: 30,
    outagesPerMonth: 2,
  },
  {
    name: 'INFN-CLOUD-BARI',
    ngi: 'NGI_IT',
    country: 'Italy',
    middleware: 'openstack',
    host: 'keystone.ba.infn.example.org',
    vmsPerMonth: 35,
    outagesPerMonth: 1,
  },
  {
    name: 'CYFRONET-CLOUD',
    ngi: 'NGI_PL',
    country: 'Poland',
    middleware: 'openstack',
    host: 'keystone.cyfronet.example.org',
    vmsPerMonth: 25,
    outagesPerMonth: 2,
  },
  {
    name: 'GRNET-OPENSTACK',
    ngi: 'NGI_GRNET',
    country: 'Greece',
    middleware: 'openstack',
    host: 'keystone.grnet.example.org',
    vmsPerMonth: 20,
    outagesPerMonth: 3,
  },
  {
    name: 'SCAI',
    ngi: 'NGI_DE',
    country: 'Germany',
    middleware: 'openstack',
    host: 'fc.scai.example.org',
    vmsPerMonth: 15,
    outagesPerMonth: 9,
  },
  {
    name: 'UPV-GRyCAP',
    ngi: 'NGI_IBERGRID',
    country: 'Spain',
    middleware: 'opennebula',
    host: 'one.i3m.upv.example.org',
    vmsPerMonth: 15,
    outagesPerMonth: 2,
  },
  {
    name: 'CESGA',
    ngi: 'NGI_IBERGRID',
    country: 'Spain',
    middleware: 'opennebula',
    host: 'cloud.cesga.example.org',
    vmsPerMonth: 20,
    outagesPerMonth: 1,
  },
  {
    name: 'IISAS-FedCloud',
    ngi: 'NGI_SK',
    country: 'Slovakia',
    middleware: 'opennebula',
    host: 'nova.ui.sav.example.org',
    vmsPerMonth: 12,
    outagesPerMonth: 3,
  },
];

/** Registered in GOCDB and nothing else yet: its site's integration has not started. */
export const DEMO_CANDIDATE_SITE = { name: 'PSNC-CLOUD', ngi: 'NGI_PL', country: 'Poland' } as const;

export const DEMO_VOS: readonly string[] = [
  'vo.access.egi.eu',
  'fedcloud.egi.eu',
  'biomed',
  'enmr.eu',
  'vo.clarin.eu',
  'eiscat.se',
  'training.egi.eu',
  'vo.emso-eric.eu',
  'lifewatch.eu',
  'vo.notebooks.egi.eu',
  'covid19.eosc-synergy.eu',
  'opencoast.eosc-hub.eu',
];

/** How many whole months before the end's own month the demo covers. */
export const DEMO_MONTHS = 6;

/** The first month the demo covers when it ends at `end`, UTC. */
export const demoFirstMonth = (end: DateTime) => end.toUTC().minus({ months: DEMO_MONTHS }).startOf('month');

/** The end of the committed snapshot in fixtures/demo (sample input for tests and benchmarks): six whole months. */
export const DEMO_FIXTURE_END = DateTime.utc(2026, 11, 1);
export const DEMO_FIRST_MONTH = demoFirstMonth(DEMO_FIXTURE_END);

const FLAVORS = [
  { cores: 1, memory: 2048, disk: 20 },
  { cores: 2, memory: 4096, disk: 40 },
  { cores: 4, memory: 8192, disk: 80 },
  { cores: 8, memory: 16384, disk: 160 },
  { cores: 16, memory: 32768, disk: 320 },
];
const IMAGES = ['ubuntu-22.04', 'ubuntu-24.04', 'almalinux-9', 'debian-12', 'egi-notebooks-2.1', 'docker-ce-ubuntu'];

/** mulberry32: small, fast, and the same everywhere. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DemoFiles {
  /** Relative path → content. */
  [path: string]: string;
}

const epoch = (d: DateTime) => Math.floor(d.toSeconds());
const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
const uuid = (rand: () => number) => {
  const hex = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

function record(fields: Array<[string, string | number | null]>): string {
  return fields.map(([k, v]) => `${k}: ${v ?? 'None'}`).join('\n');
}

/** The months from `first` to `end`, each with the part of it before `end` (whole but for the last). */
function monthsUntil(first: DateTime, end: DateTime): Array<{ month: DateTime; seconds: number; whole: boolean }> {
  const out = [];
  for (let month = first; month < end; month = month.plus({ months: 1 })) {
    const next = month.plus({ months: 1 });
    const whole = next <= end;
    out.push({ month, seconds: epoch(whole ? next : end) - epoch(month), whole });
  }
  return out;
}

/** APEL messages: one per site and month, holding every VM's record at that month's publication. */
function usage(rand: () => number, end: DateTime, published: Record<string, DateTime>): DemoFiles {
  const files: DemoFiles = {};
  const months = monthsUntil(demoFirstMonth(end), end);
  for (const site of DEMO_SITES) {
    const siteVos = DEMO_VOS.filter(() => rand() < 0.6);
    const vms: Array<{
      id: string;
      vo: string;
      user: string;
      flavor: (typeof FLAVORS)[number];
      image: string;
      start: DateTime;
      stop: DateTime;
      resized: boolean;
    }> = [];
    for (const { month, seconds } of months) {
      // The month so far gets its share of the month's VMs.
      const count = Math.round((site.vmsPerMonth * seconds) / (month.daysInMonth! * 86_400));
      for (let i = 0; i < count; i++) {
        const start = month.plus({ seconds: Math.floor(rand() * seconds) });
        const hours = rand() < 0.5 ? 1 + rand() * 72 : 72 + rand() * 24 * 120;
        const vo = pick(rand, siteVos.length ? siteVos : DEMO_VOS);
        vms.push({
          id: uuid(rand),
          vo,
          user: `/DC=eu/DC=egi/O=EGI/CN=user${Math.floor(rand() * 40)}@${vo}`,
          flavor: pick(rand, FLAVORS),
          image: pick(rand, IMAGES),
          start,
          stop: start.plus({ seconds: Math.floor(hours * 3600) }),
          resized: rand() < 0.01,
        });
      }
    }
    for (const [m, { month, whole }] of months.entries()) {
      // Sites publish on the last day of the month, a few hours before midnight; in the current month, a few hours ago.
      const at = (whole ? month.endOf('month') : end).minus({ hours: 2 + Math.floor(rand() * 6) }).startOf('second');
      if (at < month) continue;
      const name = `apel/${site.name}-${month.toFormat('yyyy-MM')}.txt`;
      published[name] = at;
      const records: string[] = [];
      for (const vm of vms) {
        if (vm.start >= at || vm.stop < month) continue;
        const completed = vm.stop <= at && vm.stop < end;
        const until = completed ? vm.stop : at;
        let wall = Math.max(0, epoch(until) - epoch(vm.start));
        // A resize resets Nova's start time: the cumulative figure drops (a negative difference APEL keeps).
        if (vm.resized && m > 0 && vm.start < month) wall = Math.floor(wall / 3);
        const cpu = site.middleware === 'openstack' ? wall * vm.flavor.cores : wall;
        const net = Math.floor((wall / 86_400) * (rand() * 3));
        const fields: Array<[string, string | number | null]> = [
          ['VMUUID', vm.id],
          ['SiteName', site.name],
          ['CloudComputeService', site.middleware === 'openstack' ? `${site.name}-nova` : `${site.name}-one`],
          ['MachineName', `vm-${vm.id.slice(0, 8)}`],
          ['LocalUserId', vm.id.slice(9, 13)],
          ['LocalGroupId', vm.vo],
          ['GlobalUserName', vm.user],
          ['FQAN', site.middleware === 'openstack' ? vm.vo : `/${vm.vo}/Role=NULL/Capability=NULL`],
          ['Status', completed ? 'completed' : 'started'],
          ['StartTime', epoch(vm.start)],
          ['EndTime', completed ? epoch(vm.stop) : null],
          ['SuspendDuration', 0],
          ['WallDuration', wall],
          ['CpuDuration', cpu],
          ['CpuCount', vm.flavor.cores],
          ['NetworkType', null],
          ['NetworkInbound', net],
          ['NetworkOutbound', Math.floor(net / 2)],
          ['PublicIPCount', site.middleware === 'openstack' ? (rand() < 0.3 ? 1 : 0) : null],
          ['Memory', vm.flavor.memory],
          ['Disk', vm.flavor.disk],
          ['StorageRecordId', null],
          ['ImageId', vm.image],
          ['CloudType', site.middleware === 'openstack' ? 'caso/4.1.0 (OpenStack)' : 'OpenNebula'],
          ['BenchmarkType', site.middleware === 'openstack' ? 'HEPSPEC' : null],
          ['Benchmark', site.middleware === 'openstack' ? 10.5 : null],
          ['RecordCreateTime', completed ? null : epoch(at)],
        ];
        records.push(record(fields));
      }
      // One publisher slip in the last whole month at GRNET: a fractional duration, quarantined with its error.
      if (site.name === 'GRNET-OPENSTACK' && m === months.findLastIndex((x) => x.whole))
        records.push(
          record([
            ['VMUUID', uuid(rand)],
            ['SiteName', site.name],
            ['Status', 'started'],
            ['StartTime', epoch(month)],
            ['WallDuration', '3600.5'],
          ]),
        );
      // cASO omits the last separator; APEL's own writer adds it.
      const body = records.join('\n%%\n') + (site.middleware === 'openstack' ? '\n' : '\n%%\n');
      files[name] = `APEL-cloud-message: v0.4\n${body}`;
    }
  }
  return files;
}

const SERVICE = { openstack: OPENSTACK_SERVICE, opennebula: OPENNEBULA_SERVICE } as const;
const METRICS = {
  openstack: ['eu.egi.cloud.OpenStack-VM', 'org.nagios.Keystone-TCP'],
  opennebula: ['eu.egi.cloud.OCCI-VM', 'org.nagios.OCCI-TCP'],
} as const;

/**
 * Probe results before `end`: every metric once a day and in each of the last 24 hours, plus each outage's
 * CRITICAL (or UNKNOWN) and its recovery (none yet for an outage still going on at the end).
 */
function probes(rand: () => number, end: DateTime): string {
  const lines: Array<[number, string]> = [];
  const line = (at: DateTime, site: DemoSite, metric: string, status: string, summary: string) =>
    at < end &&
    lines.push([
      epoch(at),
      JSON.stringify({
        timestamp: at.toISO({ suppressMilliseconds: true }),
        hostname: site.host,
        service: SERVICE[site.middleware],
        metric,
        status,
        summary,
        message: '',
        monitoring_host: 'argo-mon.egi.example.org',
      }),
    ]);
  const first = demoFirstMonth(end);
  const months = monthsUntil(first, end);
  const days = Math.ceil(end.diff(first, 'days').days);
  for (const site of DEMO_SITES) {
    const [vmMetric, tcpMetric] = METRICS[site.middleware];
    const outages: Array<[number, number]> = [];
    for (const { month, seconds } of months) {
      for (let o = 0; o < site.outagesPerMonth; o++) {
        const start = month.plus({ hours: 1 + Math.floor(rand() * Math.max(seconds / 3600 - 30, 1)) });
        const hours = site.name === 'SCAI' ? 24 + Math.floor(rand() * 48) : 1 + Math.floor(rand() * 10);
        const status = rand() < 0.8 ? 'CRITICAL' : 'UNKNOWN';
        line(start, site, vmMetric, status, status === 'CRITICAL' ? 'VM creation timed out' : 'probe could not run');
        line(start.plus({ hours }), site, vmMetric, 'OK', 'VM created and deleted');
        outages.push([epoch(start), epoch(start.plus({ hours }))]);
      }
    }
    const inOutage = (t: DateTime) => outages.some(([a, b]) => epoch(t) >= a && epoch(t) <= b);
    // The VM probe fails while an outage lasts; the TCP check still answers.
    const probe = (vmAt: DateTime, tcpAt: DateTime) => {
      if (!inOutage(vmAt)) line(vmAt, site, vmMetric, 'OK', 'VM created and deleted');
      line(tcpAt, site, tcpMetric, 'OK', 'TCP OK');
    };
    for (let d = 0; d < days; d++) {
      const day = first.plus({ days: d });
      probe(day.plus({ minutes: 5 + Math.floor(rand() * 50) }), day.plus({ minutes: 5 + Math.floor(rand() * 50) }));
    }
    for (let h = 24; h > 0; h--) {
      const hour = end.minus({ hours: h });
      // Half a minute past, so no hourly result repeats a daily one (those fall on whole minutes).
      probe(hour.plus({ minutes: 10, seconds: 30 }), hour.plus({ minutes: 20, seconds: 30 }));
    }
  }
  return lines
    .sort((a, b) => a[0] - b[0])
    .map(([, l]) => l)
    .join('\n')
    .concat('\n');
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function gocdb(rand: () => number, end: DateTime): DemoFiles {
  const site = (i: number, s: { name: string; country: string; ngi: string }, status: string) =>
    `  <SITE ID="${100 + i}" PRIMARY_KEY="${100 + i}G0" NAME="${s.name}" COUNTRY="${s.country}" COUNTRY_CODE="" ROC="${s.ngi}" SUBGRID="" GIIS_URL="">\n` +
    `    <CERTIFICATION_STATUS>${status}</CERTIFICATION_STATUS>\n    <PRODUCTION_INFRASTRUCTURE>Production</PRODUCTION_INFRASTRUCTURE>\n  </SITE>`;
  const sites = [
    ...DEMO_SITES.map((s, i) => site(i, s, 'Certified')),
    site(DEMO_SITES.length, DEMO_CANDIDATE_SITE, 'Candidate'),
  ];
  const endpoints = DEMO_SITES.map(
    (s, i) =>
      `  <SERVICE_ENDPOINT PRIMARY_KEY="${900 + i}G0">\n    <PRIMARY_KEY>${900 + i}G0</PRIMARY_KEY>\n    <HOSTNAME>${s.host}</HOSTNAME>\n` +
      `    <SERVICE_TYPE>${SERVICE[s.middleware]}</SERVICE_TYPE>\n    <IN_PRODUCTION>Y</IN_PRODUCTION>\n    <NODE_MONITORED>Y</NODE_MONITORED>\n` +
      `    <SITENAME>${s.name}</SITENAME>\n    <COUNTRY_NAME>${s.country}</COUNTRY_NAME>\n    <ROC_NAME>${s.ngi}</ROC_NAME>\n` +
      `    <URL>https://${s.host}:5000/v3</URL>\n    <SCOPES><SCOPE>EGI</SCOPE><SCOPE>FedCloud</SCOPE></SCOPES>\n  </SERVICE_ENDPOINT>`,
  );
  const downtimes: string[] = [];
  let id = 30_000;
  for (const s of DEMO_SITES) {
    for (let k = 0; k < 2; k++) {
      const start = demoFirstMonth(end).plus({
        days: Math.floor(rand() * 170),
        hours: 6 + Math.floor(rand() * 4),
      });
      const kind = pick(rand, [
        ['SCHEDULED', 'OUTAGE', 'OpenStack upgrade'],
        ['SCHEDULED', 'WARNING', 'network maintenance, at risk'],
        ['UNSCHEDULED', 'OUTAGE', 'power failure in the data centre'],
      ] as const);
      id++;
      downtimes.push(
        `  <DOWNTIME ID="${id}" PRIMARY_KEY="${id}G0" CLASSIFICATION="${kind[0]}">\n    <PRIMARY_KEY>${id}G0</PRIMARY_KEY>\n    <HOSTNAME>${s.host}</HOSTNAME>\n` +
          `    <SERVICE_TYPE>${SERVICE[s.middleware]}</SERVICE_TYPE>\n    <HOSTED_BY>${s.name}</HOSTED_BY>\n    <SEVERITY>${kind[1]}</SEVERITY>\n` +
          `    <DESCRIPTION>${xmlEscape(kind[2])}</DESCRIPTION>\n    <INSERT_DATE>${epoch(start.minus({ days: 3 }))}</INSERT_DATE>\n` +
          `    <START_DATE>${epoch(start)}</START_DATE>\n    <END_DATE>${epoch(start.plus({ hours: 4 + Math.floor(rand() * 8) }))}</END_DATE>\n` +
          `    <CLASSIFICATION>${kind[0]}</CLASSIFICATION>\n  </DOWNTIME>`,
      );
    }
  }
  const doc = (items: string[]) =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<results>\n${items.join('\n')}\n</results>\n`;
  return {
    'gocdb/get_site_list.xml': doc(sites),
    'gocdb/get_service_endpoint.xml': doc(endpoints),
    'gocdb/get_downtime.xml': doc(downtimes),
  };
}

/** The site whose image list came back empty ten days before the end: its GLUE document lapses. */
export const DEMO_LAPSING_SITE = 'GRNET-OPENSTACK';

/**
 * What each site's collector saw on the demo's first day: images and flavours for OpenStack; images only for
 * OpenNebula, whose collector reads no templates. A collector records a snapshot only when what it sees changes: so
 * one per site, and a second for DEMO_LAPSING_SITE, without its images.
 */
function snapshots(end: DateTime): Array<EventData<'CollectorSnapshotTaken'>> {
  const first = DEMO_SITES.map((site) => firstSnapshot(site, end));
  const lapsing = first.find((s) => s.siteName === DEMO_LAPSING_SITE)!;
  return [
    ...first,
    { ...lapsing, takenAt: end.minus({ days: 10 }).toISO({ suppressMilliseconds: true })!, images: [] },
  ];
}

function firstSnapshot(site: DemoSite, end: DateTime): EventData<'CollectorSnapshotTaken'> {
  const takenAt = demoFirstMonth(end).plus({ hours: 1 }).toISO({ suppressMilliseconds: true })!;
  return {
    source: `${site.name.toLowerCase()}-${site.middleware}`,
    siteName: site.name,
    takenAt,
    middleware: site.middleware,
    endpoints: [
      site.middleware === 'openstack'
        ? { url: `https://${site.host}:5000/v3`, type: 'identity', interface: 'public', region: null }
        : { url: `https://${site.host}:2633/RPC2`, type: 'opennebula', interface: 'public', region: null },
    ],
    images: IMAGES.map((name) => ({
      id: `${site.name}-${name}`,
      name,
      osName: name.split('-')[0]!,
      osVersion: name.split('-')[1] ?? null,
      architecture: 'x86_64',
      marketplaceUrl: null,
      description: null,
    })),
    flavors:
      site.middleware === 'openstack'
        ? FLAVORS.map((f) => ({
            id: `${f.cores}c${f.memory / 1024}g`,
            name: `m1.${f.cores}c${f.memory / 1024}g`,
            vcpus: f.cores,
            ramMb: f.memory,
            diskGb: f.disk,
            isPublic: true,
            benchmarkType: 'HEPSPEC',
            benchmark: 10.5,
          }))
        : [],
    shares: [],
  };
}

export interface DemoFederation {
  files: DemoFiles;
  /** When each APEL message was published (its path → instant): the demo receives it then. */
  published: Record<string, DateTime>;
  /** The collectors' snapshots (events, not files: no input format carries them). */
  snapshots: Array<EventData<'CollectorSnapshotTaken'>>;
}

/** The demo federation up to `end`, taken to the hour (so a demo loaded within one hour is the same). */
export function demoFederation(end: DateTime, seed = 20_260_501): DemoFederation {
  const until = end.toUTC().startOf('hour');
  const rand = prng(seed);
  const published: Record<string, DateTime> = {};
  const files = {
    ...gocdb(rand, until),
    ...usage(rand, until, published),
    'probes/results.jsonl': probes(rand, until),
  };
  return { files, published, snapshots: snapshots(until) };
}

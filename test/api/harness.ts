/**
 * A real API server on 127.0.0.1 (ephemeral port) over a fresh embedded
 * store holding a small hand-checked federation: two sites, two VOs, three
 * VMs over two months, one quarantined record, probe results for one day.
 */
import pino from 'pino';
import { loadServeConfig, type ServeConfig } from '../../src/api/config.ts';
import { ApiServer } from '../../src/api/server.ts';
import { TokenStore, type Role } from '../../src/api/tokens.ts';
import { openEventLog } from '../../src/eventlog/open.ts';
import type { EventLog } from '../../src/eventlog/port.ts';
import { streams } from '../../src/events/catalogue.ts';
import { encode } from '../../src/events/codec.ts';
import { ingestApelMessage } from '../../src/ingest/apel-service.ts';
import { ingestProbeResults } from '../../src/ingest/availability-service.ts';
import { upToDate } from '../../src/projection/registry.ts';
import type { ProjectionRunner } from '../../src/projection/runner.ts';
import { tempDir } from '../support/tmp.ts';

export const NOW = new Date('2026-03-02T12:00:00Z');

const rec = (fields: Record<string, string | number>) =>
  Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');

const jan = Date.UTC(2026, 0, 1) / 1000;
/** Site A: vm-1 (2 cores, alpha) in Jan and Feb, vm-2 (4 cores, beta) in Feb. Site B: vm-3 (1 core, alpha) in Feb. */
export const MESSAGE_A = `APEL-cloud-message: v0.4
${rec({ VMUUID: 'vm-1', SiteName: 'SITE-A', FQAN: '/alpha/Role=NULL', GlobalUserName: 'alice', Status: 'started', StartTime: jan, WallDuration: 36000, CpuDuration: 72000, CpuCount: 2, Memory: 4096, Disk: 20, NetworkInbound: 1, NetworkOutbound: 2, ImageId: 'img-u', CloudType: 'OpenStack', RecordCreateTime: jan + 86400 * 10 })}
%%
${rec({ VMUUID: 'vm-1', SiteName: 'SITE-A', FQAN: '/alpha/Role=NULL', GlobalUserName: 'alice', Status: 'started', StartTime: jan, WallDuration: 90000, CpuDuration: 180000, CpuCount: 2, Memory: 4096, Disk: 20, NetworkInbound: 3, NetworkOutbound: 5, ImageId: 'img-u', CloudType: 'OpenStack', RecordCreateTime: jan + 86400 * 35 })}
%%
${rec({ VMUUID: 'vm-2', SiteName: 'SITE-A', FQAN: 'beta', GlobalUserName: 'bob', Status: 'started', StartTime: jan + 86400 * 32, WallDuration: 7200, CpuDuration: 28800, CpuCount: 4, Memory: 8192, Disk: 40, ImageId: 'img-c', CloudType: 'OpenStack', RecordCreateTime: jan + 86400 * 33 })}
%%
${rec({ VMUUID: 'vm-bad', SiteName: 'SITE-A', WallDuration: '1.5' })}
%%
`;
export const MESSAGE_B = `APEL-cloud-message: v0.4
${rec({ VMUUID: 'vm-3', SiteName: 'SITE-B', FQAN: '/alpha/Role=NULL', GlobalUserName: 'carol', Status: 'completed', StartTime: jan + 86400 * 31, EndTime: jan + 86400 * 31 + 3600, WallDuration: 3600, CpuDuration: 3600, CpuCount: 1, Memory: 2048, Disk: 10, ImageId: 'img-u', CloudType: 'OpenNebula' })}
%%
`;

/** Probe results for 2026-03-01: SITE-A's endpoint OK all day, SITE-B's CRITICAL from 12:00. */
export function probeLines(day = '2026-03-01', critical = 'host-b.example.org'): string {
  const line = (host: string, metric: string, time: string, status: string) =>
    JSON.stringify({
      timestamp: `${day}T${time}Z`,
      hostname: host,
      service: 'org.openstack.nova',
      metric,
      status,
      summary: status,
      message: '',
      monitoring_host: 'mon.example.org',
    });
  const metrics = ['eu.egi.cloud.OpenStack-VM', 'org.nagios.Keystone-TCP'];
  return [
    ...metrics.map((m) => line('host-a.example.org', m, '00:00:00', 'OK')),
    ...metrics.map((m) => line('host-b.example.org', m, '00:00:00', 'OK')),
    line(critical, metrics[0]!, '12:00:00', 'CRITICAL'),
  ].join('\n');
}

export async function registerTopology(log: EventLog): Promise<void> {
  for (const [site, host, ngi] of [
    ['SITE-A', 'host-a.example.org', 'NGI_X'],
    ['SITE-B', 'host-b.example.org', 'NGI_X'],
  ] as const) {
    const siteData = {
      siteName: site,
      primaryKey: null,
      country: 'Xland',
      ngi,
      certificationStatus: 'Certified',
      productionInfrastructure: 'Production',
    };
    const endpoint = {
      siteName: site,
      hostname: host,
      service: 'org.openstack.nova',
      url: null,
      primaryKey: null,
      inProduction: true,
      monitored: true,
      scopes: ['EGI'],
      ngi,
      country: 'Xland',
    };
    await log.append(streams.site(site), [
      encode('SiteRegistered', siteData, siteData),
      encode('ServiceEndpointRegistered', endpoint, endpoint),
    ]);
  }
}

export interface Harness {
  url: string;
  dir: string;
  log: EventLog;
  server: ApiServer;
  tokens: TokenStore;
  runners: Map<string, ProjectionRunner>;
  token(role: Role, scope?: string | null, monitoring?: boolean): string;
  /** Moves the server's clock. */
  setNow(now: Date): void;
  gql<T = Record<string, unknown>>(
    token: string | undefined,
    query: string,
    variables?: Record<string, unknown>,
    method?: 'GET' | 'POST',
  ): Promise<{
    status: number;
    data?: T;
    errors?: Array<{ message: string; extensions?: { code?: string } }>;
    headers: Headers;
  }>;
  close(): Promise<void>;
}

export async function startHarness(
  options: { config?: Partial<ServeConfig>; seed?: boolean; live?: boolean; now?: Date } = {},
): Promise<Harness> {
  const { dir, cleanup } = tempDir('fedledger-api-');
  const config = {
    ...loadServeConfig({ port: 0, host: '127.0.0.1', dataDir: dir }, {}),
    logLevel: 'silent' as const,
    ...options.config,
  };
  const log = await openEventLog(config);
  if (options.seed !== false) {
    await registerTopology(log);
    await ingestApelMessage(log, MESSAGE_A, { publisher: 'test', receivedAt: new Date('2026-02-05T00:00:00Z') });
    await ingestApelMessage(log, MESSAGE_B, { publisher: 'test', receivedAt: new Date('2026-02-05T00:00:00Z') });
    await ingestProbeResults(log, probeLines(), { publisher: 'test' });
  }
  const runners = await upToDate(log, dir);
  if (options.live) for (const r of runners.values()) r.start();
  const tokens = new TokenStore(dir);
  let now = options.now ?? NOW;
  const server = new ApiServer({
    config,
    log,
    runners,
    tokens,
    logger: pino({ level: process.env['API_TEST_LOG'] ?? 'silent' }),
    now: () => now,
  });
  const url = await server.listen();
  return {
    url,
    dir,
    log,
    server,
    tokens,
    runners,
    token: (role, scope = null, monitoring = false) => tokens.create(role, scope, null, NOW, monitoring).token,
    setNow: (d) => {
      now = d;
    },
    async gql(token, query, variables = {}, method = 'POST') {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (token) headers['authorization'] = `Bearer ${token}`;
      let response: Response;
      if (method === 'GET') {
        const params = new URLSearchParams({ query, variables: JSON.stringify(variables) });
        response = await fetch(`${url}/graphql?${params}`, { headers });
      } else {
        response = await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ query, variables }),
        });
      }
      const body = (await response.json()) as { data?: never; errors?: never };
      return { status: response.status, headers: response.headers, ...body };
    },
    async close() {
      await server.close();
      for (const r of runners.values()) await r.close();
      tokens.close();
      await log.close();
      cleanup();
    },
  };
}

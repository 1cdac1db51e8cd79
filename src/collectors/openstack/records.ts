/**
 * Pure OpenStack rules: Nova payload shapes (validated once, here), the
 * cASO-compatible usage record of a server, and the state history from its
 * instance actions. No I/O.
 */
import { z } from 'zod';
import type { CloudUsageRecord } from '../../events/catalogue.ts';

/** Nova omits the zone on `OS-SRV-USG:*` and instance-action times; they are UTC. */
export function openstackEpoch(value: string): number {
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`not a time: ${JSON.stringify(value)}`);
  return Math.floor(ms / 1000);
}

const timeString = z
  .string()
  .refine((v) => !Number.isNaN(Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`)), 'not a time');

export const serverSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  status: z.string(),
  tenant_id: z.string(),
  user_id: z.string(),
  created: timeString,
  updated: timeString,
  // Before microversion 2.47 only {id}; from 2.47 the flavor is embedded, without id.
  flavor: z.object({
    id: z.string().optional(),
    original_name: z.string().optional(),
    vcpus: z.number().optional(),
    ram: z.number().optional(),
    disk: z.number().optional(),
    ephemeral: z.number().optional(),
    extra_specs: z.record(z.string(), z.string()).optional(),
  }),
  // "" for a server booted from a volume.
  image: z.union([z.literal(''), z.object({ id: z.string() })]).nullable(),
  addresses: z
    .record(z.string(), z.array(z.object({ addr: z.string(), 'OS-EXT-IPS:type': z.string().optional() })))
    .default({}),
  'OS-SRV-USG:terminated_at': timeString.nullable().optional(),
});
export type NovaServer = z.infer<typeof serverSchema>;

export const flavorSchema = z.object({
  id: z.string(),
  name: z.string(),
  vcpus: z.number().nonnegative(),
  ram: z.number().int().nonnegative(),
  disk: z.number().int().nonnegative(),
  'OS-FLV-EXT-DATA:ephemeral': z.number().int().nonnegative().default(0),
  'os-flavor-access:is_public': z.boolean().default(true),
});

export interface FlavorInfo {
  id: string;
  name: string;
  vcpus: number;
  ramMb: number;
  diskGb: number;
  isPublic: boolean;
  benchmarkType: string | null;
  benchmark: number | null;
}

/** Flavor plus its `accounting:benchmark_*` extra specs (what cASO reads). */
export function flavorInfo(flavor: z.infer<typeof flavorSchema>, extraSpecs: Record<string, string>): FlavorInfo {
  const benchmark = Number.parseFloat(extraSpecs['accounting:benchmark_value'] ?? '');
  return {
    id: flavor.id,
    name: flavor.name,
    vcpus: flavor.vcpus,
    ramMb: flavor.ram,
    diskGb: flavor.disk + flavor['OS-FLV-EXT-DATA:ephemeral'],
    isPublic: flavor['os-flavor-access:is_public'],
    benchmarkType: extraSpecs['accounting:benchmark_type'] ?? null,
    benchmark: Number.isFinite(benchmark) && benchmark >= 0 ? benchmark : null,
  };
}

/** The flavor a server runs: embedded (≥2.47) or looked up by id. */
export function serverFlavor(server: NovaServer, byId: ReadonlyMap<string, FlavorInfo>): FlavorInfo | null {
  const f = server.flavor;
  if (f.vcpus !== undefined && f.ram !== undefined && f.disk !== undefined) {
    return flavorInfo(
      {
        id: f.id ?? f.original_name ?? '',
        name: f.original_name ?? f.id ?? '',
        vcpus: f.vcpus,
        ram: f.ram,
        disk: f.disk,
        'OS-FLV-EXT-DATA:ephemeral': f.ephemeral ?? 0,
        'os-flavor-access:is_public': true,
      },
      f.extra_specs ?? {},
    );
  }
  return f.id === undefined ? null : (byId.get(f.id) ?? null);
}

/** Glance v2 image; custom properties are top-level keys. */
export const imageSchema = z
  .object({
    id: z.string(),
    name: z.string().nullable().default(null),
    os_distro: z.string().optional(),
    os_version: z.string().optional(),
    architecture: z.string().optional(),
    'ad:mpuri': z.string().optional(),
    vmcatcher_event_ad_mpuri: z.string().optional(),
    description: z.string().optional(),
  })
  .loose();
export type GlanceImage = z.infer<typeof imageSchema>;

/** The AppDB marketplace URI when the image came from there (what EGI accounts by), else null. */
export function marketplaceUri(image: GlanceImage): string | null {
  return image['ad:mpuri'] ?? image.vmcatcher_event_ad_mpuri ?? null;
}

/**
 * APEL Status from a Nova status (DOMAIN §1, as cASO maps it): running and
 * transitional states are "started"; DELETED, SHUTOFF, TERMINATED are
 * "completed"; PAUSED, SUSPENDED, STOPPED, ERROR keep their names.
 */
export function apelStatusFromNova(status: string): string {
  const s = status.toUpperCase();
  if (STARTED.has(s)) return 'started';
  if (s === 'DELETED' || s === 'SHUTOFF' || s === 'TERMINATED') return 'completed';
  if (s === 'PAUSED' || s === 'SUSPENDED' || s === 'STOPPED' || s === 'ERROR') return s.toLowerCase();
  return 'unknown';
}

const STARTED = new Set([
  'ACTIVE',
  'BUILD',
  'REBUILD',
  'REBOOT',
  'HARD_REBOOT',
  'RESIZE',
  'VERIFY_RESIZE',
  'REVERT_RESIZE',
  'MIGRATING',
  'PASSWORD',
  'RESCUE',
]);

export interface NovaRecordContext {
  siteName: string;
  cloudType: string;
  cloudComputeService: string | null;
  vo: string | null;
  flavor: FlavorInfo | null;
  image: GlanceImage | null;
  /** Floating IPs Neutron associates with the server; null when Neutron was not asked. */
  floatingIps: number | null;
  /** "Now" for servers still running, epoch seconds. */
  asOf: number;
}

/** When a server ended: terminated_at, or `updated` for a DELETED server whose terminated_at is null (as cASO does). */
export function serverEnd(server: NovaServer): number | null {
  const status = server.status.toUpperCase();
  if (status !== 'DELETED' && status !== 'TERMINATED') return null;
  const terminated = server['OS-SRV-USG:terminated_at'];
  return openstackEpoch(terminated ?? server.updated);
}

/** A cASO-compatible cumulative usage record: wall from creation to end (or now), CPU = wall × vCPUs. */
export function novaUsageRecord(server: NovaServer, ctx: NovaRecordContext): CloudUsageRecord {
  const start = openstackEpoch(server.created);
  const end = serverEnd(server);
  const wall = Math.max(0, (end ?? ctx.asOf) - start);
  const vcpus = ctx.flavor?.vcpus ?? null;
  const floatingInAddresses = Object.values(server.addresses)
    .flat()
    .filter((a) => a['OS-EXT-IPS:type'] === 'floating').length;
  const imageId =
    server.image === '' || server.image === null
      ? null
      : ctx.image
        ? (marketplaceUri(ctx.image) ?? ctx.image.id)
        : server.image.id;
  return {
    vmUuid: server.id,
    siteName: ctx.siteName,
    machineName: server.name,
    localUserId: server.user_id,
    localGroupId: server.tenant_id,
    globalUserName: server.user_id,
    fqan: ctx.vo,
    vo: ctx.vo,
    voGroup: null,
    voRole: null,
    status: apelStatusFromNova(server.status),
    startTime: start,
    endTime: end,
    suspendDuration: null,
    wallDuration: wall,
    cpuDuration: vcpus === null ? null : Math.round(wall * vcpus),
    cpuCount: vcpus,
    networkType: null,
    networkInbound: null,
    networkOutbound: null,
    publicIpCount: ctx.floatingIps ?? floatingInAddresses,
    memory: ctx.flavor?.ramMb ?? null,
    disk: ctx.flavor?.diskGb ?? null,
    storageRecordId: null,
    imageId,
    cloudType: ctx.cloudType,
    cloudComputeService: ctx.cloudComputeService,
    benchmarkType: ctx.flavor?.benchmarkType ?? null,
    benchmark: ctx.flavor?.benchmark ?? null,
    recordCreateTime: null,
  };
}

export const instanceActionSchema = z.object({
  action: z.string(),
  request_id: z.string(),
  start_time: timeString,
});
export type InstanceAction = z.infer<typeof instanceActionSchema>;

/** The Nova status an action leaves the server in; actions not listed (migrations, attachments) change no state. */
const ACTION_STATUS: Record<string, string> = {
  create: 'ACTIVE',
  start: 'ACTIVE',
  reboot: 'ACTIVE',
  rebuild: 'ACTIVE',
  resume: 'ACTIVE',
  unpause: 'ACTIVE',
  unshelve: 'ACTIVE',
  unrescue: 'ACTIVE',
  restore: 'ACTIVE',
  confirmResize: 'ACTIVE',
  revertResize: 'ACTIVE',
  resize: 'VERIFY_RESIZE',
  stop: 'SHUTOFF',
  suspend: 'SUSPENDED',
  pause: 'PAUSED',
  shelve: 'SHELVED',
  shelveOffload: 'SHELVED_OFFLOADED',
  rescue: 'RESCUE',
  delete: 'DELETED',
  forceDelete: 'DELETED',
};

export interface StateChange {
  vmUuid: string;
  requestId: string;
  action: string;
  /** APEL status after the action. */
  state: string;
  previousState: string | null;
  at: number;
}

/**
 * The state history of a server from its instance actions (Nova lists them
 * newest first). A resize is kept as its own change even though the APEL
 * status stays "started": it is when the vCPU count changed.
 */
export function stateChanges(vmUuid: string, actions: readonly InstanceAction[]): StateChange[] {
  const ordered = [...actions].sort(
    (a, b) => openstackEpoch(a.start_time) - openstackEpoch(b.start_time) || (a.request_id < b.request_id ? -1 : 1),
  );
  const changes: StateChange[] = [];
  let previous: string | null = null;
  for (const action of ordered) {
    const status = ACTION_STATUS[action.action];
    if (status === undefined) continue;
    const state = apelStatusFromNova(status);
    if (state === previous && action.action !== 'resize') continue;
    changes.push({
      vmUuid,
      requestId: action.request_id,
      action: action.action,
      state,
      previousState: previous,
      at: openstackEpoch(action.start_time),
    });
    previous = state;
  }
  return changes;
}

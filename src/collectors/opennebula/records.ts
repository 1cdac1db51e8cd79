/**
 * Pure OpenNebula rules: oned XML (already parsed) into typed VMs and
 * history records, VM identity, running time from history, the state mapping,
 * and the usage record. No I/O.
 */
import type { CloudUsageRecord } from '../../events/catalogue.ts';
import { FedledgerError } from '../../errors.ts';

export interface OneHistory {
  seq: number;
  hostname: string;
  /** Epoch seconds; 0 = not happened (yet). */
  stime: number;
  etime: number;
  rstime: number;
  retime: number;
  action: number;
  /** The VM as it was when this record was written (accounting only). */
  vm: OneVm | null;
}

export interface OneDisk {
  sizeMb: number | null;
  image: string | null;
  imageId: string | null;
  marketplaceUri: string | null;
}

export interface OneVm {
  id: number;
  name: string;
  uname: string;
  gname: string;
  state: number;
  lcmState: number;
  stime: number;
  etime: number;
  vcpus: number | null;
  memoryMb: number | null;
  disks: OneDisk[];
  x509Dn: string | null;
  /** Bytes, cumulative for the current history record. */
  netRx: number | null;
  netTx: number | null;
  history: OneHistory[];
}

type Node = Record<string, unknown>;

function text(node: unknown): string | null {
  if (node === undefined || node === null) return null;
  if (typeof node === 'string') return node.trim() === '' ? null : node.trim();
  if (typeof node === 'number') return String(node);
  return null;
}

function int(node: Node, key: string, where: string): number {
  const value = text(node[key]);
  if (value === null || !/^-?\d+$/.test(value))
    throw new FedledgerError('ONE_BAD_PAYLOAD', `${where}: ${key} is not an integer: ${JSON.stringify(node[key])}`, {
      message: where,
      field: key,
    });
  return Number(value);
}

function optNumber(node: unknown): number | null {
  const value = text(node);
  if (value === null) return null;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

function child(node: Node, key: string): Node {
  const value = node[key];
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Node) : {};
}

function list(node: Node, key: string): Node[] {
  const value = node[key];
  return Array.isArray(value) ? (value as Node[]) : value && typeof value === 'object' ? [value as Node] : [];
}

export function toHistory(node: Node, where: string): OneHistory {
  const vm = list(node, 'VM')[0];
  return {
    seq: int(node, 'SEQ', where),
    hostname: text(node['HOSTNAME']) ?? '',
    stime: int(node, 'STIME', where),
    etime: int(node, 'ETIME', where),
    rstime: int(node, 'RSTIME', where),
    retime: int(node, 'RETIME', where),
    action: text(node['ACTION']) === null ? 0 : int(node, 'ACTION', where),
    vm: vm ? toVm(vm, `${where} VM`) : null,
  };
}

export function toVm(node: Node, where: string): OneVm {
  const template = child(node, 'TEMPLATE');
  const monitoring = child(node, 'MONITORING');
  const id = int(node, 'ID', where);
  const at = `${where} ${id}`;
  return {
    id,
    name: text(node['NAME']) ?? `one-${id}`,
    uname: text(node['UNAME']) ?? '',
    gname: text(node['GNAME']) ?? '',
    state: int(node, 'STATE', at),
    lcmState: text(node['LCM_STATE']) === null ? 0 : int(node, 'LCM_STATE', at),
    stime: int(node, 'STIME', at),
    etime: int(node, 'ETIME', at),
    vcpus: optNumber(template['VCPU']) ?? optNumber(template['CPU']),
    memoryMb: optNumber(template['MEMORY']),
    disks: list(template, 'DISK').map((d) => ({
      sizeMb: optNumber(d['SIZE']),
      image: text(d['IMAGE']),
      imageId: text(d['IMAGE_ID']),
      marketplaceUri: text(d['VMCATCHER_EVENT_AD_MPURI']),
    })),
    x509Dn: text(child(node, 'USER_TEMPLATE')['USER_X509_DN']),
    netRx: optNumber(monitoring['NETRX']),
    netTx: optNumber(monitoring['NETTX']),
    history: list(child(node, 'HISTORY_RECORDS'), 'HISTORY').map((h, i) => toHistory(h, `${at} HISTORY[${i}]`)),
  };
}

/**
 * A VM's identity across the federation: oned reuses numeric ids (after a
 * database reset, or a fresh oned behind the same endpoint), so the id alone
 * would merge two VMs; endpoint + id + start time does not.
 */
export function oneVmUuid(endpointHost: string, vmId: number, stime: number): string {
  return `${endpointHost}/one-${vmId}/${stime}`;
}

/** APEL Status by VM STATE. oneacct-export drops UNDEPLOYED and CLONING*, losing their usage; we keep them as not running. */
const STATUS_BY_STATE: readonly string[] = [
  'started', // 0 INIT
  'started', // 1 PENDING
  'suspended', // 2 HOLD
  'started', // 3 ACTIVE
  'suspended', // 4 STOPPED
  'suspended', // 5 SUSPENDED
  'completed', // 6 DONE
  'completed', // 7 FAILED (deprecated)
  'suspended', // 8 POWEROFF
  'suspended', // 9 UNDEPLOYED
  'started', // 10 CLONING
  'suspended', // 11 CLONING_FAILURE
];

export function apelStatusFromOne(state: number): string {
  return STATUS_BY_STATE[state] ?? 'unknown';
}

/** When the VM stopped counting: its ETIME once DONE, else null. */
function vmEnd(vm: OneVm): number | null {
  return vm.state === 6 || vm.state === 7 ? (vm.etime > 0 ? vm.etime : null) : null;
}

/**
 * Seconds the VM was running: the RUNNING span (RSTIME → RETIME) of every
 * history record; an open one (RETIME 0) runs until the VM ended or `asOf`.
 */
export function runningSeconds(vm: OneVm, history: readonly OneHistory[], asOf: number): number {
  const end = vmEnd(vm) ?? asOf;
  let total = 0;
  for (const h of history) {
    if (h.rstime <= 0) continue;
    const stop = h.retime > 0 ? h.retime : end;
    total += Math.max(0, Math.min(stop, end) - h.rstime);
  }
  return total;
}

const GIB = 1024 ** 3;

/** Bytes received/sent over the VM's life: per-record cumulative counters, summed; the open record's come from the VM itself. */
export function networkBytes(vm: OneVm, history: readonly OneHistory[]): { rx: number | null; tx: number | null } {
  let rx: number | null = null;
  let tx: number | null = null;
  const last = Math.max(-1, ...history.map((h) => h.seq));
  const add = (a: number | null, b: number | null) => (b === null ? a : (a ?? 0) + b);
  for (const h of history) {
    const source = h.seq === last && (vm.netRx !== null || vm.netTx !== null) ? vm : h.vm;
    if (!source) continue;
    rx = add(rx, source.netRx);
    tx = add(tx, source.netTx);
  }
  if (history.length === 0) return { rx: vm.netRx, tx: vm.netTx };
  return { rx, tx };
}

export interface OneRecordContext {
  siteName: string;
  endpointHost: string;
  cloudType: string;
  cloudComputeService: string | null;
  groupVo: Readonly<Record<string, string>>;
  asOf: number;
}

export function oneUsageRecord(vm: OneVm, history: readonly OneHistory[], ctx: OneRecordContext): CloudUsageRecord {
  const wall = runningSeconds(vm, history, ctx.asOf);
  const end = vmEnd(vm);
  const { rx, tx } = networkBytes(vm, history);
  const vo = (ctx.groupVo[vm.gname] ?? vm.gname) || null;
  const diskMb = vm.disks.reduce<number | null>((sum, d) => (d.sizeMb === null ? sum : (sum ?? 0) + d.sizeMb), null);
  const first = vm.disks[0];
  return {
    vmUuid: oneVmUuid(ctx.endpointHost, vm.id, vm.stime),
    siteName: ctx.siteName,
    machineName: `one-${vm.id}`,
    localUserId: vm.uname || null,
    localGroupId: vm.gname || null,
    globalUserName: vm.x509Dn ?? (vm.uname || null),
    fqan: vo,
    vo,
    voGroup: null,
    voRole: null,
    status: apelStatusFromOne(vm.state),
    startTime: vm.stime,
    endTime: end,
    suspendDuration: Math.max(0, (end ?? ctx.asOf) - vm.stime - wall),
    wallDuration: wall,
    cpuDuration: vm.vcpus === null ? null : Math.round(wall * vm.vcpus),
    cpuCount: vm.vcpus,
    networkType: null,
    // NETRX is what the VM received: inbound (oneacct-export has these the wrong way round).
    networkInbound: rx === null ? null : Math.round(rx / GIB),
    networkOutbound: tx === null ? null : Math.round(tx / GIB),
    publicIpCount: null,
    memory: vm.memoryMb === null ? null : Math.round(vm.memoryMb),
    disk: diskMb === null ? null : Math.round(diskMb / 1024),
    storageRecordId: null,
    imageId: first ? (first.marketplaceUri ?? first.image ?? first.imageId) : null,
    cloudType: ctx.cloudType,
    cloudComputeService: ctx.cloudComputeService,
    benchmarkType: null,
    benchmark: null,
    recordCreateTime: null,
  };
}

/** History ACTIONs that move a VM between hosts without stopping it for the user. */
const MIGRATIONS = new Set([1, 2]);

export interface OneStateChange {
  seq: number;
  edge: 'start' | 'end';
  state: string;
  previousState: string | null;
  at: number;
}

/** Running periods as state changes: "started" when a record starts running, and when it stops, the VM's state (or "suspended"); migrations are not changes. */
export function oneStateChanges(vm: OneVm, history: readonly OneHistory[]): OneStateChange[] {
  const ordered = [...history].sort((a, b) => a.seq - b.seq);
  const out: OneStateChange[] = [];
  let previous: string | null = null;
  const push = (seq: number, edge: 'start' | 'end', state: string, at: number) => {
    if (state === previous) return;
    out.push({ seq, edge, state, previousState: previous, at });
    previous = state;
  };
  ordered.forEach((h, i) => {
    if (h.rstime > 0) push(h.seq, 'start', 'started', h.rstime);
    if (h.retime > 0 && !MIGRATIONS.has(h.action)) {
      const isLast = i === ordered.length - 1;
      push(h.seq, 'end', isLast && vm.state !== 3 ? apelStatusFromOne(vm.state) : 'suspended', h.retime);
    }
  });
  return out;
}

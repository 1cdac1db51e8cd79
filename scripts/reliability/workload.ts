/**
 * A seeded workload for the crash script: APEL cloud messages in an SSM-style
 * outgoing directory (VMs reported several times, across month boundaries, by
 * several sites) and ARGO-style probe results for the demo federation's
 * endpoints. The same seed always gives the same bytes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { prng } from '../../src/demo/federation.ts';

export interface WorkloadSize {
  /** APEL messages in the outgoing directory. */
  messages: number;
  /** Usage records over all messages. */
  records: number;
  /** Messages kept back from the directory, to be pushed to a running `serve`. */
  pushed: number;
  /** Days of probe results, from 2026-05-01. */
  probeDays: number;
}

export interface Workload {
  /** The SSM-style directory given to `ingest apel`. */
  apelDir: string;
  /** The messages to push over HTTP, in order. */
  pushes: string[];
  /** JSON lines for `ingest probes`. */
  probes: string;
  /** First and last UTC day of the probe results, for `export ar`. */
  probeDays: { from: string; to: string };
}

const SITES = ['CRASH-ALPHA', 'CRASH-BETA', 'CRASH-GAMMA', 'CRASH-DELTA', 'CRASH-EPSILON'];
const VOS = ['vo.access.egi.eu', 'vo.notebooks.egi.eu', 'biomed', 'enmr.eu'];
/** 2025-11-15: VMs start in the second half of November and run into December and January. */
const FIRST_START = Date.UTC(2025, 10, 15) / 1000;
const DAY = 86_400;
const PROBE_FROM = Date.UTC(2026, 4, 1);
const PROBE_EVERY_MS = 20 * 60_000;

const hex = (random: () => number, digits: number) =>
  Array.from({ length: digits }, () => Math.floor(random() * 16).toString(16)).join('');

/** One v0.4 record of a VM as seen `days` after its start, still running or completed. */
function record(
  vm: { uuid: string; site: string; vo: string; cores: number; start: number },
  days: number,
  done: boolean,
) {
  const wall = Math.round(days * DAY);
  return [
    `VMUUID: ${vm.uuid}`,
    `SiteName: ${vm.site}`,
    `CloudComputeService: ${vm.site}-cloud`,
    `MachineName: vm-${vm.uuid.slice(0, 8)}`,
    `LocalUserId: ${vm.uuid.slice(9, 13)}`,
    `LocalGroupId: ${vm.vo}`,
    `GlobalUserName: /DC=eu/DC=egi/CN=user-${vm.uuid.slice(0, 4)}@${vm.vo}`,
    `FQAN: /${vm.vo}/Role=NULL/Capability=NULL`,
    `Status: ${done ? 'completed' : 'started'}`,
    `StartTime: ${vm.start}`,
    `EndTime: ${done ? vm.start + wall : 'None'}`,
    'SuspendDuration: 0',
    `WallDuration: ${wall}`,
    `CpuDuration: ${wall * vm.cores}`,
    `CpuCount: ${vm.cores}`,
    `Memory: ${vm.cores * 2048}`,
    `Disk: ${vm.cores * 20}`,
    'ImageId: ubuntu-22.04',
    'CloudType: OpenStack',
    `RecordCreateTime: ${vm.start + wall + 300}`,
  ].join('\n');
}

/** The records of all messages: each VM reported two to four times, the last time completed. */
function usageRecords(random: () => number, count: number): string[] {
  const records: string[] = [];
  while (records.length < count) {
    const vm = {
      uuid: `${hex(random, 8)}-${hex(random, 4)}-${hex(random, 4)}-${hex(random, 4)}-${hex(random, 12)}`,
      site: SITES[Math.floor(random() * SITES.length)]!,
      vo: VOS[Math.floor(random() * VOS.length)]!,
      cores: 1 << Math.floor(random() * 4),
      start: FIRST_START + Math.floor(random() * 30 * DAY),
    };
    const reports = 2 + Math.floor(random() * 3);
    let days = 0;
    for (let i = 0; i < reports && records.length < count; i++) {
      days += 1 + random() * 12;
      records.push(record(vm, days, i === reports - 1));
    }
  }
  return records;
}

/** The endpoints (hostname, service, metric) the demo's probe results cover, so that GOCDB and profiles match. */
function demoProbeTargets(): Array<{ hostname: string; service: string; metric: string }> {
  const seen = new Map<string, { hostname: string; service: string; metric: string }>();
  for (const line of readFileSync('fixtures/demo/probes/results.jsonl', 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const { hostname, service, metric } = JSON.parse(line) as { hostname: string; service: string; metric: string };
    seen.set(`${hostname} ${service} ${metric}`, { hostname, service, metric });
  }
  return [...seen.values()];
}

function probeLines(random: () => number, days: number): string {
  const lines: string[] = [];
  const statuses = ['OK', 'OK', 'OK', 'OK', 'OK', 'OK', 'WARNING', 'CRITICAL', 'UNKNOWN'];
  for (const target of demoProbeTargets()) {
    const offset = Math.floor(random() * PROBE_EVERY_MS);
    for (let t = PROBE_FROM + offset; t < PROBE_FROM + days * DAY * 1000; t += PROBE_EVERY_MS) {
      const status = statuses[Math.floor(random() * statuses.length)]!;
      lines.push(
        JSON.stringify({
          timestamp: new Date(t).toISOString().replace('.000Z', 'Z'),
          ...target,
          status,
          summary: `${status} from the crash workload`,
          message: '',
          monitoring_host: 'argo-mon.crash.example.org',
        }),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Writes the workload's files below `dir` and returns where they are. */
export function writeWorkload(dir: string, seed: number, size: WorkloadSize): Workload {
  const random = prng(seed);
  const records = usageRecords(random, size.records);
  const messages: string[] = [];
  const perMessage = Math.ceil(records.length / size.messages);
  for (let i = 0; i < records.length; i += perMessage)
    messages.push(`APEL-cloud-message: v0.4\n${records.slice(i, i + perMessage).join('\n%%\n')}\n%%\n`);
  const pushes = messages.splice(messages.length - Math.min(size.pushed, messages.length - 1));
  const apelDir = path.join(dir, 'outgoing');
  // SSM's QueueSimple layout: a directory per eight hex digits, files named by fourteen.
  messages.forEach((text, i) => {
    const sub = path.join(apelDir, (Math.floor(i / 100) + 0x5f000000).toString(16));
    mkdirSync(sub, { recursive: true });
    writeFileSync(path.join(sub, `${(0x65000000 + i).toString(16)}${hex(random, 6)}`), text);
  });
  const probes = probeLines(random, size.probeDays);
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return {
    apelDir,
    pushes,
    probes,
    probeDays: { from: day(PROBE_FROM), to: day(PROBE_FROM + (size.probeDays - 1) * DAY * 1000) },
  };
}

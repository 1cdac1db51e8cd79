/**
 * A seeded synthetic cASO federation for the benchmarks: VMs with lifetimes
 * of 1 to 120 days started uniformly over a period, a cumulative record per
 * running VM at every run (one message per site per run, at most 1000
 * records, as cASO sends them), and the raw better-sqlite3 insert of the same
 * records that the benchmarks measure themselves against.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { prng } from '../../src/demo/federation.ts';
import { parseApelCloudMessage } from '../../src/ingest/apel-message.ts';
import type { IncomingMessage } from '../../src/ingest/ingest-many.ts';
import { measure, type Measured } from './harness.ts';

export interface FederationShape {
  seed: number;
  records: number;
  sites: number;
  vos: number;
  /** Seconds between two runs of a site's collector. */
  step: number;
  /** The period, in Unix seconds. */
  start: number;
  end: number;
}

const FLAVOURS = [
  { cpus: 1, memory: 2048, disk: 20 },
  { cpus: 2, memory: 4096, disk: 40 },
  { cpus: 4, memory: 8192, disk: 80 },
  { cpus: 0.5, memory: 1024, disk: 10 },
  { cpus: 8, memory: 16384, disk: 160 },
];

interface Vm {
  uuid: string;
  site: number;
  vo: number;
  flavour: (typeof FLAVOURS)[number];
  start: number;
  end: number;
  netRate: number;
}

/** VMs started uniformly over the period, until the record budget is met. */
function federation(shape: FederationShape): Vm[] {
  const random = prng(shape.seed);
  const vms: Vm[] = [];
  let records = 0;
  while (records < shape.records) {
    const start = shape.start + Math.floor(random() * (shape.end - shape.start - shape.step));
    const end = Math.min(shape.end, start + Math.floor((1 + random() * 119) * 86_400));
    const i = vms.length;
    vms.push({
      uuid: `${((i * 2654435761) % 2 ** 32).toString(16).padStart(8, '0')}-bench-4000-8000-${i.toString(16).padStart(12, '0')}`,
      site: Math.floor(random() * shape.sites),
      vo: Math.floor(random() * shape.vos),
      flavour: FLAVOURS[Math.floor(random() * FLAVOURS.length)]!,
      start,
      end,
      netRate: Math.floor(random() * 5),
    });
    records += Math.floor((end - start) / shape.step) + 1;
  }
  return vms;
}

function recordText(vm: Vm, at: number): string {
  const completed = at >= vm.end;
  const wall = Math.min(at, vm.end) - vm.start;
  const site = `BENCH-SITE-${vm.site.toString().padStart(2, '0')}`;
  return [
    `CloudComputeService: ${site.toLowerCase()}.example.org`,
    'CloudType: caso/5.2.2 (OpenStack)',
    `CpuCount: ${vm.flavour.cpus}`,
    `CpuDuration: ${Math.round(wall * vm.flavour.cpus)}`,
    `Disk: ${vm.flavour.disk}`,
    `EndTime: ${completed ? vm.end : 0}`,
    `FQAN: /vo${vm.vo}.example.eu/Role=NULL/Capability=NULL`,
    `GlobalUserName: /DC=eu/DC=example/CN=user${vm.vo * 7}`,
    'ImageId: 5c1a4f2e-image',
    `LocalGroupId: project-${vm.vo}`,
    `LocalUserId: user-${vm.vo * 7}`,
    `MachineName: vm-${vm.uuid.slice(-6)}`,
    `Memory: ${vm.flavour.memory}`,
    `NetworkInbound: ${Math.floor((wall / 86_400) * vm.netRate)}`,
    `NetworkOutbound: ${Math.floor((wall / 86_400) * vm.netRate * 2)}`,
    'PublicIPCount: 1',
    `SiteName: ${site}`,
    `StartTime: ${vm.start}`,
    `Status: ${completed ? 'completed' : 'started'}`,
    `VMUUID: ${vm.uuid}`,
    `WallDuration: ${wall}`,
  ].join('\n');
}

/** A message as bytes, as `ingest apel` reads it from a file: the parser thread decodes it (strict UTF-8). */
export type CasoMessage = IncomingMessage & { text: Buffer };

/** One message per site per 6-hour run, holding a record for every VM running (or just ended) at that run. */
export function casoMessages(shape: FederationShape): { vms: number; list: CasoMessage[]; records: number } {
  const vms = federation(shape);
  const list: CasoMessage[] = [];
  let records = 0;
  const bySite = Array.from({ length: shape.sites }, (_, s) =>
    vms.filter((v) => v.site === s).sort((a, b) => a.start - b.start),
  );
  for (let run = shape.start + shape.step; run <= shape.end + shape.step; run += shape.step) {
    for (let s = 0; s < shape.sites; s++) {
      const body: string[] = [];
      for (const vm of bySite[s]!) {
        if (vm.start >= run) break;
        if (vm.end <= run - shape.step) continue;
        body.push(recordText(vm, Math.min(run, vm.end)));
      }
      for (let i = 0; i < body.length; i += 1000) {
        list.push({
          name: `site${s}-${run}-${i}`,
          text: Buffer.from(`APEL-cloud-message: v0.4\n${body.slice(i, i + 1000).join('\n%%\n')}\n`),
        });
        records += Math.min(1000, body.length - i);
      }
    }
  }
  return { vms: vms.length, list, records };
}

/** Baseline: the same records, already parsed, inserted as plain rows by raw better-sqlite3. */
export async function rawInsert(list: readonly CasoMessage[], dir: string): Promise<Measured> {
  // Scoped so the million parsed records are garbage before the measured pipeline runs on the same heap.
  const parsedAll = list.flatMap((m) => parseApelCloudMessage(m.text.toString(), m.name).records.map((r) => r.record));
  const raw = new Database(path.join(dir, 'raw.sqlite'));
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = FULL');
  const columns = Object.keys(parsedAll[0]!);
  raw.exec(`CREATE TABLE records (${columns.join(', ')})`);
  const insertRaw = raw.prepare(`INSERT INTO records VALUES (${columns.map(() => '?').join(', ')})`);
  const rawTx = raw.transaction((rows: typeof parsedAll) => {
    for (const r of rows) insertRaw.run(...Object.values(r));
  });
  const measured = await measure('raw better-sqlite3 insert, 1000/tx', parsedAll.length, () => {
    for (let i = 0; i < parsedAll.length; i += 1000) rawTx(parsedAll.slice(i, i + 1000));
  });
  raw.close();
  return measured;
}

/**
 * Accounting benchmark: a seeded synthetic federation (sites, VOs, VMs over
 * 12 months, a cumulative record per running VM every 6 hours, one message
 * per site per run, as cASO sends them) measured through parse, ingest
 * (parse + append), projection and a monthly summary query, each against a
 * raw better-sqlite3 insert of the same rows measured in the same process.
 * End to end is measured twice: one stage after the other on one thread, and
 * as `fedledger ingest apel --project` runs it, the projection following the
 * ingest on a worker thread, in a fresh process (`--pipeline`: the same
 * federation, its own baseline, and a digest of the summaries to compare).
 * Run: npm run bench:accounting [-- --records 1000000]
 */
import Database from 'better-sqlite3';
import { DateTime } from 'luxon';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { summaryMessages } from '../../src/accounting/render.ts';
import { prng } from '../../src/demo/federation.ts';
import { EVENTLOG_FILE } from '../../src/eventlog/open.ts';
import { SqliteEventLog } from '../../src/eventlog/sqlite.ts';
import { parseApelCloudMessage } from '../../src/ingest/apel-message.ts';
import { type IncomingMessage, ingestMany } from '../../src/ingest/apel-service.ts';
import { prepareOnThread } from '../../src/ingest/apel-parse-worker.ts';
import { ProjectionRunner } from '../../src/projection/runner.ts';
import { projectingAlongside } from '../../src/projection/worker.ts';
import { accountingProjection, querySummaries } from '../../projections/accounting.ts';
import { measure, peakRssMiB, rate, report, runFresh } from './harness.ts';
import { sha256Hex } from '../../src/events/ids.ts';

const PIPELINE = process.argv.includes('--pipeline');
const argRecords = process.argv.indexOf('--records');
const TARGET_RECORDS = argRecords > 0 ? Number(process.argv[argRecords + 1]) : 1_000_000;
const SITES = 20;
const VOS = 30;
const STEP = 6 * 3600;
const YEAR_START = DateTime.utc(2025, 1, 1).toSeconds();
const YEAR_END = DateTime.utc(2026, 1, 1).toSeconds();
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

/** VMs with lifetimes of 1 to 120 days, started uniformly over the year, until the record budget is met. */
function federation(random: () => number): Vm[] {
  const vms: Vm[] = [];
  let records = 0;
  while (records < TARGET_RECORDS) {
    const start = YEAR_START + Math.floor(random() * (YEAR_END - YEAR_START - STEP));
    const end = Math.min(YEAR_END, start + Math.floor((1 + random() * 119) * 86_400));
    const i = vms.length;
    vms.push({
      uuid: `${((i * 2654435761) % 2 ** 32).toString(16).padStart(8, '0')}-bench-4000-8000-${i.toString(16).padStart(12, '0')}`,
      site: Math.floor(random() * SITES),
      vo: Math.floor(random() * VOS),
      flavour: FLAVOURS[Math.floor(random() * FLAVOURS.length)]!,
      start,
      end,
      netRate: Math.floor(random() * 5),
    });
    records += Math.floor((end - start) / STEP) + 1;
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

/**
 * One message per site per 6-hour run, holding a record for every VM running (or just ended) at that run. As bytes,
 * as `ingest apel` reads them from files: the parser thread decodes them (strict UTF-8).
 */
function messages(vms: Vm[]): { list: (IncomingMessage & { text: Buffer })[]; records: number } {
  const list: (IncomingMessage & { text: Buffer })[] = [];
  let records = 0;
  const bySite = Array.from({ length: SITES }, (_, s) =>
    vms.filter((v) => v.site === s).sort((a, b) => a.start - b.start),
  );
  for (let run = YEAR_START + STEP; run <= YEAR_END + STEP; run += STEP) {
    for (let s = 0; s < SITES; s++) {
      const body: string[] = [];
      for (const vm of bySite[s]!) {
        if (vm.start >= run) break;
        if (vm.end <= run - STEP) continue;
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
  return { list, records };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-bench-acc-'));
const random = prng(20260101);
const vms = federation(random);
const { list, records } = messages(vms);
if (!PIPELINE)
  console.log(
    `fedledger accounting benchmark (${os.cpus().length} cores, node ${process.version}): ${SITES} sites, ${VOS} VOs, ${vms.length} VMs, ${list.length} messages, ${records} records`,
  );

/** Baseline: the same records, already parsed, inserted as plain rows by raw better-sqlite3. */
async function rawInsert() {
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
const baseline = await rawInsert();
const summariesDigest = (db: Parameters<typeof querySummaries>[0]) => sha256Hex(JSON.stringify(querySummaries(db)));

/** The product's pipeline: `ingest apel --project`, the projection on a worker thread. */
async function pipelineRun(): Promise<void> {
  const log = new SqliteEventLog(path.join(dir, EVENTLOG_FILE));
  const pipeline = await measure('end to end, projection on a worker thread', records, () =>
    projectingAlongside({ dataDir: dir, eventstoreUrl: undefined }, ['accounting'], () =>
      ingestMany(log, list, { publisher: 'bench', receivedAt: new Date(YEAR_END * 1000), prepare: prepareOnThread }),
    ),
  );
  const runner = new ProjectionRunner(log, accountingProjection, path.join(dir, 'projections'));
  report(pipeline, baseline);
  console.log(
    `pipeline: ${Math.round(rate(pipeline))} records/s, peak RSS ${peakRssMiB()} MiB, summaries ${summariesDigest(runner.db)}`,
  );
  await runner.close();
  await log.close();
}

if (PIPELINE) {
  await pipelineRun();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

const parse = await measure('parse', records, () => {
  for (const m of list) parseApelCloudMessage(m.text.toString(), m.name);
});
const log = new SqliteEventLog(path.join(dir, EVENTLOG_FILE));
let outcome = { accepted: 0, unchanged: 0, rejected: 0 };
const ingest = await measure('ingest (parse + append)', records, async () => {
  outcome = await ingestMany(log, list, {
    publisher: 'bench',
    receivedAt: new Date(YEAR_END * 1000),
    prepare: prepareOnThread,
  });
});
const runner = new ProjectionRunner(log, accountingProjection, path.join(dir, 'projections'));
const project = await measure('project (accounting read model)', records, () => runner.catchUp());
const endToEnd = {
  label: 'end to end, one stage after the other',
  count: records,
  seconds: ingest.seconds + project.seconds,
};
let summaryRows = 0;
const months = Array.from({ length: 12 }, (_, m) => 202501 + m);
const query = await measure('monthly summary query + render, 12 months', records, () => {
  for (const ym of months) {
    const rows = querySummaries(runner.db, { from: ym, to: ym });
    summaryRows += rows.length;
    summaryMessages(rows);
  }
});

const digest = summariesDigest(runner.db);
await runner.close();
await log.close();
rmSync(dir, { recursive: true, force: true });

console.log(
  `accepted ${outcome.accepted}, unchanged ${outcome.unchanged}, rejected ${outcome.rejected}; ${summaryRows} summary rows`,
);
for (const m of [parse, ingest, project, endToEnd, query]) report(m, baseline);
console.log(`one stage after the other: peak RSS ${peakRssMiB()} MiB`);
const fresh = runFresh(fileURLToPath(import.meta.url), ['--pipeline', '--records', String(TARGET_RECORDS)]);
const pipelined = /pipeline: (\d+) records\/s, peak RSS (\d+) MiB, summaries (\w+)/.exec(fresh)!;
console.log(
  `end to end: ${Number(pipelined[1]).toLocaleString('en-US')} records/s with the projection on a worker thread (summaries ${pipelined[3] === digest ? 'identical to' : 'DIFFER from'} one stage after the other), ${Math.round(rate(endToEnd)).toLocaleString('en-US')} records/s one stage after the other (target 50,000)`,
);

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
import { DateTime } from 'luxon';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { summaryMessages } from '../../src/accounting/render.ts';
import { EVENTLOG_FILE } from '../../src/eventlog/open.ts';
import { SqliteEventLog } from '../../src/eventlog/sqlite.ts';
import { parseApelCloudMessage } from '../../src/ingest/apel-message.ts';
import { ingestMany } from '../../src/ingest/ingest-many.ts';
import { prepareOnWorkerThread } from '../../src/ingest/preparers/worker-thread.ts';
import { ProjectionRunner } from '../../src/projection/runner.ts';
import { projectingAlongside } from '../../src/projection/worker.ts';
import { accountingProjection } from '../../projections/accounting/apply.ts';
import { querySummaries } from '../../projections/accounting/queries.ts';
import { casoMessages, rawInsert } from './caso-federation.ts';
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

const dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-bench-acc-'));
const { vms, list, records } = casoMessages({
  seed: 20260101,
  records: TARGET_RECORDS,
  sites: SITES,
  vos: VOS,
  step: STEP,
  start: YEAR_START,
  end: YEAR_END,
});
if (!PIPELINE)
  console.log(
    `fedledger accounting benchmark (${os.cpus().length} cores, node ${process.version}): ${SITES} sites, ${VOS} VOs, ${vms} VMs, ${list.length} messages, ${records} records`,
  );

const baseline = await rawInsert(list, dir);
const summariesDigest = (db: Parameters<typeof querySummaries>[0]) => sha256Hex(JSON.stringify(querySummaries(db)));

/** The product's pipeline: `ingest apel --project`, the projection on a worker thread. */
async function pipelineRun(): Promise<void> {
  const log = new SqliteEventLog(path.join(dir, EVENTLOG_FILE));
  const pipeline = await measure('end to end, projection on a worker thread', records, () =>
    projectingAlongside({ dataDir: dir, eventstoreUrl: undefined }, ['accounting'], () =>
      ingestMany(log, list, {
        publisher: 'bench',
        receivedAt: new Date(YEAR_END * 1000),
        prepare: prepareOnWorkerThread,
      }),
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
    prepare: prepareOnWorkerThread,
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

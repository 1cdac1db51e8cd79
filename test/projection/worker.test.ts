import test from 'ava';
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { querySummaries } from '../../projections/accounting/queries.ts';
import { arReport } from '../../projections/availability/queries.ts';
import { openEventLog } from '../../src/eventlog/open.ts';
import { ingestMany } from '../../src/ingest/ingest-many.ts';
import { ingestGocdb, ingestProbeResults } from '../../src/ingest/availability-service.ts';
import { upToDate } from '../../src/projection/registry.ts';
import { ProjectionWorker, projectingAlongside } from '../../src/projection/worker.ts';
import { tempDir } from '../support/tmp.ts';

const DEMO_APEL = 'fixtures/demo/apel';
const ENDPOINTS = 'fixtures/demo/gocdb/get_service_endpoint.xml';
const PROBES = 'fixtures/demo/probes/results.jsonl';
const messages = () =>
  readdirSync(DEMO_APEL)
    .sort()
    .map((name) => ({ name, text: readFileSync(path.join(DEMO_APEL, name), 'utf8') }));
const options = { publisher: 'test', receivedAt: new Date('2026-11-01T00:00:00Z') };

test('a projection on a worker thread, following an ingest, ends with the read model a catch-up builds', async (t) => {
  const alongside = tempDir();
  const after = tempDir();
  const config = { dataDir: alongside.dir, eventstoreUrl: undefined };
  const log = await openEventLog(config);
  const { result, projected } = await projectingAlongside(config, ['accounting'], () =>
    ingestMany(log, messages(), { ...options, groupRecords: 200 }),
  );
  t.true(result.accepted > 1000);
  t.is(projected.length, 1);
  t.is(projected[0]!.projection, 'accounting');
  t.is(projected[0]!.checkpoint, await log.headPosition());
  t.is(projected[0]!.applied, result.accepted + result.rejected);

  // Opened afresh, the read model is at the head already: nothing left to apply.
  const runners = await upToDate(log, alongside.dir, ['accounting']);
  const accounting = runners.get('accounting')!;
  t.is(accounting.checkpoint, projected[0]!.checkpoint);

  const reference = { dataDir: after.dir, eventstoreUrl: undefined };
  const referenceLog = await openEventLog(reference);
  await ingestMany(referenceLog, messages(), options);
  const referenceRunners = await upToDate(referenceLog, after.dir, ['accounting']);
  const expected = querySummaries(referenceRunners.get('accounting')!.db);
  t.true(expected.length > 10);
  t.deepEqual(querySummaries(accounting.db), expected);

  for (const runner of [...runners.values(), ...referenceRunners.values()]) await runner.close();
  await log.close();
  await referenceLog.close();
  alongside.cleanup();
  after.cleanup();
});

test('when the ingest fails, the workers still finish over what was appended and the ingest error is thrown', async (t) => {
  const tmp = tempDir();
  const config = { dataDir: tmp.dir, eventstoreUrl: undefined };
  const log = await openEventLog(config);
  const error = await t.throwsAsync(
    projectingAlongside(config, ['availability'], async () => {
      await ingestGocdb(log, readFileSync(ENDPOINTS, 'utf8'), options);
      throw new Error('the input ended early');
    }),
  );
  t.is(error?.message, 'the input ended early');
  const runners = await upToDate(log, tmp.dir, ['availability']);
  t.is(runners.get('availability')!.checkpoint, await log.headPosition());
  await runners.get('availability')!.close();
  await log.close();
  tmp.cleanup();
});

test('a worker for an unknown projection fails with its name', async (t) => {
  const tmp = tempDir();
  const worker = new ProjectionWorker({ dataDir: tmp.dir, eventstoreUrl: undefined }, 'no-such-read-model');
  const error = await t.throwsAsync(worker.finish());
  t.regex(error?.message ?? '', /no projection named no-such-read-model/);
  tmp.cleanup();
});

test('fedledger ingest probes --project leaves the availability read model at the head of the log', (t) => {
  const tmp = tempDir();
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['bin/fedledger.js', '--data-dir', tmp.dir, ...args], { encoding: 'utf8' });
  cpSync(PROBES, path.join(tmp.dir, 'results.jsonl'));
  const gocdb = run('ingest', 'gocdb', ENDPOINTS);
  t.is(gocdb.status, 0, gocdb.stderr);
  const ingest = run('ingest', 'probes', '--project', path.join(tmp.dir, 'results.jsonl'));
  t.is(ingest.status, 0, ingest.stderr);
  t.regex(ingest.stdout, /results\.jsonl: \d+ accepted, 0 unchanged, 0 rejected/);
  // `project` reports what it had left to apply: nothing.
  const project = run('project', 'availability');
  t.is(project.status, 0, project.stderr);
  t.regex(project.stdout, /^availability: 0 events applied/);
  tmp.cleanup();
});

test('the availability read model projected alongside answers like one rebuilt afterwards', async (t) => {
  const tmp = tempDir();
  const config = { dataDir: tmp.dir, eventstoreUrl: undefined };
  const log = await openEventLog(config);
  const { projected } = await projectingAlongside(config, ['availability'], async () => {
    await ingestGocdb(log, readFileSync(ENDPOINTS, 'utf8'), options);
    return ingestProbeResults(log, readFileSync(PROBES, 'utf8'), options);
  });
  const runner = (await upToDate(log, tmp.dir, ['availability'])).get('availability')!;
  t.is(runner.checkpoint, projected[0]!.checkpoint);
  const query = {
    from: '2026-05-01',
    to: '2026-10-31',
    granularity: 'monthly',
    now: new Date('2026-11-01T00:00:00Z'),
    levels: ['site'],
  } as const;
  const rows = arReport(runner.db, query);
  t.true(rows.length > 5);
  await runner.rebuild();
  t.deepEqual(arReport(runner.db, query), rows);
  await runner.close();
  await log.close();
  tmp.cleanup();
});

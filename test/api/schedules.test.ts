/**
 * `serve` runs the technical board's report schedule: once the projections
 * have caught up, the runs due by now (last month's and last quarter's) are
 * written into the data directory and recorded, once.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { loadServeConfig } from '../../src/api/config.ts';
import { startService } from '../../src/api/service.ts';
import { scheduledPeriod } from '../../src/reports/period.ts';
import { listReportRuns } from '../../src/reports/runs.ts';
import { lastDue, REPORT_JOBS } from '../../src/reports/jobs.ts';
import { ingestApelMessage } from '../../src/ingest/apel-service.ts';
import { openEventLog } from '../../src/eventlog/open.ts';
import { tempDir } from '../support/tmp.ts';
import { MESSAGE_A } from './harness.ts';

async function until<T>(probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('serve writes the reports due by now, once, after catching up', async (t) => {
  const { dir, cleanup } = tempDir('fedledger-serve-');
  const seed = await openEventLog({ dataDir: dir });
  await ingestApelMessage(seed, MESSAGE_A, { publisher: 'test' });
  await seed.close();
  const now = new Date();
  const due = REPORT_JOBS.flatMap((job) => {
    const at = lastDue(job, now);
    return at ? [scheduledPeriod(at, job.kind).name] : [];
  }).sort();
  t.true(due.length > 0);

  const start = () =>
    startService(
      { ...loadServeConfig({ port: 0, host: '127.0.0.1', dataDir: dir }, {}), logLevel: 'silent' },
      { logger: pino({ level: 'silent' }) },
    );
  const first = await start();
  const runs = await until(async () => {
    const listed = await listReportRuns(first.log);
    return listed.length >= due.length ? listed : undefined;
  }, 60_000);
  t.deepEqual(runs.map((r) => r.period).sort(), due);
  for (const period of due) t.true(existsSync(path.join(dir, 'reports', period, 'report.html')));
  await first.close();

  const second = await start();
  await second.caughtUp;
  await new Promise((r) => setTimeout(r, 1000));
  t.is((await listReportRuns(second.log)).length, due.length, 'a restart does not write them again');
  await second.close();
  cleanup();
});

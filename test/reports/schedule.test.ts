import test from 'ava';
import { openEventLog } from '../../src/eventlog/open.ts';
import type { EventLog } from '../../src/eventlog/port.ts';
import { upToDate } from '../../src/projection/registry.ts';
import type { ProjectionRunner } from '../../src/projection/runner.ts';
import { defaultReportDir, generateReport, READ_MODELS } from '../../src/reports/generate.ts';
import { listReportRuns } from '../../src/reports/runs.ts';
import { JobScheduler } from '../../src/jobs/scheduler.ts';
import { lastDue, REPORT_JOBS, reportJobs } from '../../src/reports/jobs.ts';
import { FakeClock } from '../support/fake-clock.ts';
import { recordingLogger } from '../support/log-lines.ts';
import { tempDir } from '../support/tmp.ts';
import { buildFederation } from './fixture.ts';

const [monthly, quarterly] = REPORT_JOBS as [(typeof REPORT_JOBS)[0], (typeof REPORT_JOBS)[0]];

test('the latest due run is the first cron instant of the current period if passed, else of the previous one', (t) => {
  t.is(lastDue(monthly, new Date('2026-11-02T06:00:00Z'))?.toISOString(), '2026-11-02T06:00:00.000Z');
  t.is(lastDue(monthly, new Date('2026-11-02T05:59:59Z'))?.toISOString(), '2026-10-02T06:00:00.000Z');
  t.is(lastDue(quarterly, new Date('2026-12-31T23:00:00Z'))?.toISOString(), '2026-10-02T06:00:00.000Z');
  t.is(lastDue(quarterly, new Date('2027-01-02T06:00:00Z'))?.toISOString(), '2027-01-02T06:00:00.000Z');
});

async function setup(t: { teardown(fn: () => void): void }) {
  const { dir, cleanup } = tempDir('fedledger-schedule-');
  const log = await openEventLog({ dataDir: dir });
  let runners: Map<string, ProjectionRunner> | undefined;
  t.teardown(() => {
    void (async () => {
      for (const r of runners?.values() ?? []) await r.close();
      await log.close();
      cleanup();
    })();
  });
  await buildFederation(log);
  const fired: string[] = [];
  const { logger, lines } = recordingLogger();
  // No run may fail: each test ends by checking that none was logged as failed.
  const failures = () => lines.filter((l) => l['msg'] === 'job failed');
  const scheduler = (clock: FakeClock) => {
    const s = new JobScheduler({ logger, clock });
    for (const job of reportJobs({
      log,
      run: async (period, due) => {
        fired.push(`${period.name}@${due.toISOString()}`);
        await generateReport({
          log,
          readModels: async () => {
            if (runners) for (const r of runners.values()) await r.catchUp();
            else runners = await upToDate(log, dir, READ_MODELS);
            return runners;
          },
          period,
          dir: defaultReportDir(dir, period),
          now: clock.now(),
          trigger: 'schedule',
          scheduledFor: due,
        });
      },
    }))
      s.add(job);
    return s;
  };
  return { log, fired, scheduler, failures };
}

const scheduled = async (log: EventLog) =>
  (await listReportRuns(log)).map((r) => `${r.period}@${r.scheduledFor} ${r.trigger}`).sort();

test('the monthly job fires once for the previous month, and a restart never fires it again', async (t) => {
  const { log, fired, scheduler, failures } = await setup(t);
  const clock = new FakeClock(Date.parse('2026-11-02T05:00:00Z'));
  const first = scheduler(clock);
  // Starting catches up the latest due runs: October 2 06:00 covered September (monthly) and Q3 (quarterly).
  await first.start();
  t.deepEqual(fired, ['2026-09@2026-10-02T06:00:00.000Z', '2026-Q3@2026-10-02T06:00:00.000Z']);
  await clock.advanceTo('2026-11-02T05:59:59Z', first);
  t.is(fired.length, 2);
  await clock.advanceTo('2026-11-02T06:30:00Z', first);
  t.deepEqual(fired.slice(2), ['2026-10@2026-11-02T06:00:00.000Z']);

  // A restart half an hour later finds October's run in the log and does not repeat it.
  first.stop();
  const second = scheduler(clock);
  await second.start();
  await clock.advanceTo('2026-11-30T00:00:00Z', second);
  t.is(fired.length, 3);
  second.stop();
  const third = scheduler(clock);
  await third.start();
  t.is(fired.length, 3);

  // Thirty days on (a wait longer than one Node timer), November's report, once.
  await clock.advanceTo('2026-12-02T06:00:00Z', third);
  t.deepEqual(fired.slice(3), ['2026-11@2026-12-02T06:00:00.000Z']);
  third.stop();
  t.deepEqual(await scheduled(log), [
    '2026-09@2026-10-02T06:00:00Z schedule',
    '2026-10@2026-11-02T06:00:00Z schedule',
    '2026-11@2026-12-02T06:00:00Z schedule',
    '2026-Q3@2026-10-02T06:00:00Z schedule',
  ]);
  t.deepEqual(failures(), []);
});

test('on the 2nd day of a quarter both jobs fire: the previous month and the previous quarter', async (t) => {
  const { fired, scheduler, failures } = await setup(t);
  const clock = new FakeClock(Date.parse('2027-01-02T05:00:00Z'));
  const s = scheduler(clock);
  await s.start();
  fired.length = 0;
  await clock.advanceTo('2027-01-02T07:00:00Z', s);
  s.stop();
  t.deepEqual(fired, ['2026-12@2027-01-02T06:00:00.000Z', '2026-Q4@2027-01-02T06:00:00.000Z']);
  t.deepEqual(failures(), []);
});

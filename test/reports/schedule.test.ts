import test from 'ava';
import { openEventLog } from '../../src/eventlog/open.ts';
import type { EventLog } from '../../src/eventlog/port.ts';
import { upToDate } from '../../src/projection/registry.ts';
import type { ProjectionRunner } from '../../src/projection/runner.ts';
import { defaultReportDir, generateReport, READ_MODELS } from '../../src/reports/generate.ts';
import { listReportRuns } from '../../src/reports/runs.ts';
import { type Clock, lastDue, REPORT_JOBS, ReportScheduler } from '../../src/reports/schedule.ts';
import { tempDir } from '../support/tmp.ts';
import { buildFederation } from './fixture.ts';

/** A clock the test moves by hand; it refuses timers Node would overflow. */
class FakeClock implements Clock {
  private timers: Array<{ at: number; fn: () => void }> = [];
  constructor(private t: number) {}
  now(): Date {
    return new Date(this.t);
  }
  setTimer(ms: number, fn: () => void): () => void {
    if (ms > 2 ** 31 - 1) throw new Error(`timer of ${ms} ms would overflow`);
    const timer = { at: this.t + ms, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((x) => x !== timer);
    };
  }
  /** Moves to `iso`, firing due timers in time order and letting the scheduler finish each run. */
  async advanceTo(iso: string, scheduler: ReportScheduler): Promise<void> {
    const target = Date.parse(iso);
    for (;;) {
      const next = this.timers.filter((x) => x.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = next.at;
      next.fn();
      await scheduler.idle();
    }
    this.t = target;
  }
}

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
  const scheduler = (clock: FakeClock) =>
    new ReportScheduler({
      log,
      clock,
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
      onError: (_job, _period, error) => {
        throw error;
      },
    });
  return { log, fired, scheduler };
}

const scheduled = async (log: EventLog) =>
  (await listReportRuns(log)).map((r) => `${r.period}@${r.scheduledFor} ${r.trigger}`).sort();

test('the monthly job fires once for the previous month, and a restart never fires it again', async (t) => {
  const { log, fired, scheduler } = await setup(t);
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
});

test('on the 2nd day of a quarter both jobs fire: the previous month and the previous quarter', async (t) => {
  const { fired, scheduler } = await setup(t);
  const clock = new FakeClock(Date.parse('2027-01-02T05:00:00Z'));
  const s = scheduler(clock);
  await s.start();
  fired.length = 0;
  await clock.advanceTo('2027-01-02T07:00:00Z', s);
  s.stop();
  t.deepEqual(fired, ['2026-12@2027-01-02T06:00:00.000Z', '2026-Q4@2027-01-02T06:00:00.000Z']);
});

/** The job scheduler: cron in UTC on an injected clock, failures logged and counted, the guard before each run. */
import test from 'ava';
import { Registry } from 'prom-client';
import { JobScheduler } from '../../src/jobs/scheduler.ts';
import { FakeClock } from '../support/fake-clock.ts';
import { recordingLogger } from '../support/log-lines.ts';

const runsTotal = async (registry: Registry) =>
  (await registry.getSingleMetric('fedledger_job_runs_total')!.get()).values
    .map((v) => `${v.labels['job']} ${v.labels['outcome']} ${v.value}`)
    .sort();

test('a failed run is logged and counted, and the job fires again at its next UTC cron time', async (t) => {
  const { logger, lines } = recordingLogger();
  const registry = new Registry();
  const clock = new FakeClock(Date.parse('2026-03-12T10:00:00Z'));
  const scheduler = new JobScheduler({ logger, clock, registry });
  const ran: string[] = [];
  scheduler.add({
    name: 'flaky',
    cron: '30 * * * *',
    run: async ({ scheduledFor }) => {
      ran.push(scheduledFor.toISOString());
      if (ran.length === 1) throw new Error('first run fails');
      return { n: ran.length };
    },
  });
  await scheduler.start();
  await clock.advanceTo('2026-03-12T11:45:00Z', scheduler);
  scheduler.stop();
  t.deepEqual(ran, ['2026-03-12T10:30:00.000Z', '2026-03-12T11:30:00.000Z']);
  t.deepEqual(
    lines.filter((l) => l['job'] === 'flaky').map((l) => [l['msg'], l['scheduledFor']]),
    [
      ['job failed', '2026-03-12T10:30:00Z'],
      ['job done', '2026-03-12T11:30:00Z'],
    ],
  );
  t.like(
    lines.find((l) => l['msg'] === 'job failed')!,
    { err: { message: 'first run fails' } },
  );
  t.deepEqual(await runsTotal(registry), ['flaky done 1', 'flaky failed 1']);
});

test('the guard is asked before every run; a refused run does not start and counts as skipped', async (t) => {
  const { logger } = recordingLogger();
  const registry = new Registry();
  const clock = new FakeClock(Date.parse('2026-03-12T10:00:00Z'));
  const asked: string[] = [];
  const scheduler = new JobScheduler({
    logger,
    clock,
    registry,
    guard: (job, at) => {
      asked.push(`${job.name}@${at.toISOString()}`);
      return asked.length > 1;
    },
  });
  let runs = 0;
  const job = scheduler.add({ name: 'leased', cron: '0 * * * *', run: async () => ++runs });
  await scheduler.start();
  await clock.advanceTo('2026-03-12T12:00:00Z', scheduler);
  scheduler.stop();
  t.deepEqual(asked, ['leased@2026-03-12T11:00:00.000Z', 'leased@2026-03-12T12:00:00.000Z']);
  t.is(runs, 1);
  t.is(await job.run(), 2, 'a run asked by hand passes the guard too');
  t.deepEqual(await runsTotal(registry), ['leased done 2', 'leased skipped 1']);
});

import test from 'ava';
import { availabilityProjection } from '../../projections/availability/apply.ts';
import {
  arReport,
  latestStatuses,
  sitesUnderOla,
  sitesUnderThreeMonths,
  statusTimelines,
} from '../../projections/availability/queries.ts';
import { openEventLog } from '../../src/eventlog/open.ts';
import type { EventLog } from '../../src/eventlog/port.ts';
import { ingestGocdb, ingestProbeResults } from '../../src/ingest/availability-service.ts';
import { ProjectionRunner } from '../../src/projection/runner.ts';
import { tempDir } from '../support/tmp.ts';

const VM = 'eu.egi.cloud.OpenStack-VM';
const TCP = 'org.nagios.Keystone-TCP';
const topology = `<results>${[
  ['a1.example.org', 'SITE-A'],
  ['a2.example.org', 'SITE-A'],
  ['b1.example.org', 'SITE-B'],
]
  .map(
    ([h, s]) =>
      `<SERVICE_ENDPOINT><HOSTNAME>${h}</HOSTNAME><SERVICE_TYPE>org.openstack.nova</SERVICE_TYPE><IN_PRODUCTION>Y</IN_PRODUCTION><NODE_MONITORED>Y</NODE_MONITORED><SITENAME>${s}</SITENAME><ROC_NAME>NGI_X</ROC_NAME></SERVICE_ENDPOINT>`,
  )
  .join('')}</results>`;

const result = (hostname: string, metric: string, timestamp: string, status: string) =>
  JSON.stringify({
    timestamp,
    hostname,
    service: 'org.openstack.nova',
    metric,
    status,
    summary: '',
    message: '',
    monitoring_host: 'mon',
  });

async function setup(t: {
  teardown(fn: () => void): void;
}): Promise<{ log: EventLog; runner: ProjectionRunner; probes: (...lines: string[]) => Promise<void> }> {
  const { dir, cleanup } = tempDir();
  const log = await openEventLog({ dataDir: dir });
  const runner = new ProjectionRunner(log, availabilityProjection, `${dir}/projections`);
  t.teardown(() => {
    void runner
      .close()
      .then(() => log.close())
      .then(cleanup);
  });
  await ingestGocdb(log, topology, { publisher: 't' });
  return {
    log,
    runner,
    probes: async (...lines) => {
      await ingestProbeResults(log, lines.join('\n'), { publisher: 't' });
      await runner.catchUp();
    },
  };
}

const END_OF_MONTH = new Date('2026-02-01T00:00:00Z');
const daily = (
  runner: ProjectionRunner,
  level: 'endpoint' | 'service' | 'site',
  from: string,
  to: string,
  now = END_OF_MONTH,
) => arReport(runner.db, { from, to, granularity: 'daily', now, levels: [level] });

test('(a) a metric silent on D keeps its D-1 status through D and is MISSING after', async (t) => {
  const { runner, probes } = await setup(t);
  await probes(
    result('b1.example.org', VM, '2026-01-05T10:00:00Z', 'OK'),
    result('b1.example.org', TCP, '2026-01-05T10:00:00Z', 'OK'),
  );
  const rows = daily(runner, 'endpoint', '2026-01-05', '2026-01-07');
  t.deepEqual(
    rows.map((r) => [r.date, r.up, r.unknown]),
    [
      ['2026-01-05', 14 / 24, 10 / 24],
      ['2026-01-06', 1, 0],
      ['2026-01-07', 0, 1],
    ],
  );
  t.deepEqual([rows[2]!.availability, rows[2]!.reliability], [-1, -1]);
});

test('(c) a late result recomputes its day and the day after; a duplicate changes nothing', async (t) => {
  const { runner, probes } = await setup(t);
  await probes(
    result('b1.example.org', VM, '2026-01-05T00:00:00Z', 'OK'),
    result('b1.example.org', TCP, '2026-01-05T00:00:00Z', 'OK'),
  );
  t.is(daily(runner, 'site', '2026-01-06', '2026-01-06')[0]!.availability, 100);
  const checkpoint = runner.checkpoint;
  await probes(result('b1.example.org', TCP, '2026-01-05T18:00:00Z', 'CRITICAL'));
  const [d5, d6] = daily(runner, 'site', '2026-01-05', '2026-01-06');
  t.is(d5!.availability, 75);
  t.is(d6!.availability, 0);
  await probes(result('b1.example.org', TCP, '2026-01-05T18:00:00Z', 'CRITICAL'));
  t.is(runner.checkpoint, checkpoint + 1n);
});

test('a downtime declared after the fact recomputes the day; OR across two endpoints of a site', async (t) => {
  const { log, runner, probes } = await setup(t);
  await probes(
    ...['a1.example.org', 'a2.example.org'].flatMap((h) => [
      result(h, VM, '2026-01-09T00:00:00Z', 'OK'),
      result(h, TCP, '2026-01-09T00:00:00Z', 'OK'),
    ]),
    result('a1.example.org', TCP, '2026-01-09T06:00:00Z', 'CRITICAL'),
    result('a2.example.org', TCP, '2026-01-09T05:00:00Z', 'CRITICAL'),
    result('a2.example.org', TCP, '2026-01-09T07:00:00Z', 'OK'),
    result('a1.example.org', TCP, '2026-01-09T13:00:00Z', 'OK'),
  );
  // a2 is back at 07:00, so the service is CRITICAL 06:00-07:00 only.
  t.is(daily(runner, 'service', '2026-01-09', '2026-01-09')[0]!.seconds!.critical, 3600);
  await ingestGocdb(
    log,
    `<results><DOWNTIME PRIMARY_KEY="7G0" CLASSIFICATION="SCHEDULED"><HOSTNAME>a1.example.org</HOSTNAME><SERVICE_TYPE>org.openstack.nova</SERVICE_TYPE>
     <SEVERITY>OUTAGE</SEVERITY><START_DATE>${Date.UTC(2026, 0, 9, 8) / 1000}</START_DATE><END_DATE>${Date.UTC(2026, 0, 9, 12) / 1000}</END_DATE></DOWNTIME></results>`,
    { publisher: 't' },
  );
  await runner.catchUp();
  const a1 = daily(runner, 'endpoint', '2026-01-09', '2026-01-09').find((r) => r.hostname === 'a1.example.org')!;
  // CRITICAL 06:00-08:00 and 12:01-13:00; DOWNTIME 08:00-12:01.
  t.deepEqual(a1.seconds, {
    up: 86_400 - 7 * 3600,
    unknown: 0,
    down: 4 * 3600 + 60,
    critical: 2 * 3600 + 59 * 60 - 60 + 60,
    total: 86_400,
  });
  const [timeline] = statusTimelines(runner.db, {
    from: '2026-01-09',
    to: '2026-01-09',
    now: END_OF_MONTH,
    level: 'endpoint',
    hostname: 'a1.example.org',
  });
  t.deepEqual(
    timeline!.statuses.map((p) => [p.timestamp.slice(11, 19), p.status]),
    [
      ['00:00:00', 'OK'],
      ['06:00:00', 'CRITICAL'],
      ['08:00:00', 'DOWNTIME'],
      ['12:01:00', 'CRITICAL'],
      ['13:00:00', 'OK'],
      ['23:59:59', 'OK'],
    ],
  );
});

test('(b) today covers only its elapsed part; the latest status is the one at now', async (t) => {
  const { runner, probes } = await setup(t);
  await probes(
    result('b1.example.org', VM, '2026-01-20T00:00:00Z', 'OK'),
    result('b1.example.org', TCP, '2026-01-20T00:00:00Z', 'OK'),
    result('b1.example.org', TCP, '2026-01-20T06:00:00Z', 'CRITICAL'),
  );
  const now = new Date('2026-01-20T08:00:00Z');
  const [today] = daily(runner, 'site', '2026-01-20', '2026-01-31', now);
  t.is(today!.seconds!.total, 8 * 3600);
  t.is(today!.availability, 75);
  t.is(daily(runner, 'site', '2026-01-20', '2026-01-31', now).length, 1);
  const latest = latestStatuses(runner.db, now);
  t.deepEqual(
    latest.sites.map((s) => [s.site, s.status, s.since]),
    [['SITE-B', 'CRITICAL', '2026-01-20T06:00:00Z']],
  );
});

test('monthly values come from summed seconds; OLA and three-month checks', async (t) => {
  const { runner, probes } = await setup(t);
  const lines: string[] = [];
  for (const month of ['2025-11', '2025-12', '2026-01'])
    lines.push(
      result('b1.example.org', VM, `${month}-01T00:00:00Z`, 'OK'),
      result('b1.example.org', TCP, `${month}-01T00:00:00Z`, 'OK'),
      result('b1.example.org', TCP, `${month}-10T00:00:00Z`, 'CRITICAL'),
    );
  await probes(...lines);
  const [jan] = arReport(runner.db, {
    from: '2026-01-01',
    to: '2026-01-31',
    granularity: 'monthly',
    now: END_OF_MONTH,
    levels: ['site'],
  });
  t.is(jan!.date, '2026-01');
  // Up on the 1st and (seeded) the 2nd, MISSING from the 3rd (nothing reported), CRITICAL on the 10th and (seeded) the 11th.
  t.deepEqual(jan!.seconds, {
    up: 2 * 86_400,
    unknown: 27 * 86_400,
    down: 0,
    critical: 2 * 86_400,
    total: 31 * 86_400,
  });
  t.is(jan!.availability, 50);
  t.deepEqual(
    sitesUnderOla(runner.db, '2026-01', END_OF_MONTH).map((r) => r.site),
    ['SITE-B'],
  );
  t.deepEqual(
    sitesUnderThreeMonths(runner.db, '2026-01', END_OF_MONTH).map((r) => r.site),
    ['SITE-B'],
  );
  t.deepEqual(
    sitesUnderThreeMonths(runner.db, '2025-12', END_OF_MONTH).map((r) => r.site),
    [],
  );
  const [group] = arReport(runner.db, {
    from: '2026-01-01',
    to: '2026-01-31',
    granularity: 'monthly',
    now: END_OF_MONTH,
    levels: ['group'],
  });
  t.is(group!.group, 'NGI_X');
});

test('days before any profile expect nothing: ranges and results from before 2015-01-01 work', async (t) => {
  const { runner, probes } = await setup(t);
  await probes(
    result('b1.example.org', TCP, '2014-12-31T10:00:00Z', 'CRITICAL'),
    result('b1.example.org', VM, '2015-01-01T00:00:00Z', 'OK'),
    result('b1.example.org', TCP, '2015-01-01T00:00:00Z', 'OK'),
  );
  const [site] = statusTimelines(runner.db, { from: '2014-12-31', to: '2015-01-01', now: END_OF_MONTH, level: 'site' });
  t.deepEqual(
    site!.statuses.map((p) => [p.timestamp, p.status]),
    [
      ['2015-01-01T00:00:00Z', 'OK'],
      ['2015-01-01T23:59:59Z', 'OK'],
    ],
  );
  t.deepEqual(
    daily(runner, 'site', '2014-12-30', '2015-01-01').map((r) => [r.date, r.availability]),
    [['2015-01-01', 100]],
  );
  t.deepEqual(daily(runner, 'endpoint', '2014-12-30', '2014-12-31'), []);
});

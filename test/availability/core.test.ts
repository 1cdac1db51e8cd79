import test from 'ava';
import { endpointDay, siteDay } from '../../src/availability/aggregate.ts';
import { addSeconds, ratios, secondsOf, zeroSeconds } from '../../src/availability/ar.ts';
import { defaultProfiles } from '../../projections/availability/profiles.ts';
import { applyDowntimes, downtimeIntervals, type Downtime } from '../../src/availability/downtimes.ts';
import { compileOperations, type OperationsProfile, type ProfileSet } from '../../src/availability/profiles.ts';
import { combine, constant, metricTimeline } from '../../src/availability/timeline.ts';
import { profilesForDay } from '../../projections/availability/profiles.ts';

const profiles: ProfileSet = profilesForDay([], '2026-01-01')!;
const ops = profiles.operations;
const defaults = ops.profile.defaults;
const AND = ops.op('AND');
const OR = ops.op('OR');
const H = 3600;
const at = (h: number, m = 0, s = 0) => h * H + m * 60 + s;
const dayStart = Date.UTC(2026, 0, 10) / 1000;
const outage = (
  from: number,
  to: number,
  classification: Downtime['classification'] = 'SCHEDULED',
  severity: Downtime['severity'] = 'OUTAGE',
): Downtime => ({
  classification,
  severity,
  start: dayStart + from,
  end: dayStart + to,
});

// DOMAIN §3, written out independently of the tables: AND takes the worst, OR the best.
const WORST_LAST = ['OK', 'WARNING', 'UNKNOWN', 'MISSING', 'DOWNTIME', 'CRITICAL'];
const BEST_FIRST = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN', 'DOWNTIME', 'MISSING'];

test('egi_ops AND and OR truth tables over all 36 ordered state pairs', (t) => {
  const states = ops.profile.states;
  t.is(states.length, 6);
  for (const a of states)
    for (const b of states) {
      t.is(AND(a, b), WORST_LAST[Math.max(WORST_LAST.indexOf(a), WORST_LAST.indexOf(b))]!, `AND(${a}, ${b})`);
      t.is(OR(a, b), BEST_FIRST[Math.min(BEST_FIRST.indexOf(a), BEST_FIRST.indexOf(b))]!, `OR(${a}, ${b})`);
    }
  t.is(AND('CRITICAL', 'DOWNTIME'), 'CRITICAL');
  t.is(OR('MISSING', 'DOWNTIME'), 'DOWNTIME');
});

test('an incomplete truth table is refused', (t) => {
  const profile: OperationsProfile = { ...ops.profile, tables: { AND: [{ a: 'OK', b: 'OK', x: 'OK' }] } };
  t.throws(() => compileOperations(profile), { message: /no row for/ });
});

test('default profiles: egi_ops, FedCloud cloud group, OpenStack metrics', (t) => {
  t.deepEqual(
    defaultProfiles()
      .map((p) => p.kind)
      .sort(),
    ['aggregation', 'metric', 'operations'],
  );
  t.deepEqual(profiles.metrics.services['org.openstack.nova'], [
    'eu.egi.cloud.OpenStack-VM',
    'org.nagios.Keystone-TCP',
  ]);
  t.is(profiles.aggregation.groups[0]!.name, 'cloud');
});

test('a metric starts the day with its previous-day status; without one it is MISSING until its first result', (t) => {
  t.deepEqual(metricTimeline('CRITICAL', 'MISSING', [{ at: at(2), state: 'OK' }], AND), [
    { at: 0, state: 'CRITICAL' },
    { at: at(2), state: 'OK' },
  ]);
  t.deepEqual(metricTimeline(null, 'MISSING', [{ at: at(2), state: 'OK' }], AND), [
    { at: 0, state: 'MISSING' },
    { at: at(2), state: 'OK' },
  ]);
  // A result at 00:00:00 replaces the seed; two in one second are merged by AND.
  t.deepEqual(
    metricTimeline(
      'OK',
      'MISSING',
      [
        { at: 0, state: 'WARNING' },
        { at: 50, state: 'OK' },
        { at: 50, state: 'CRITICAL' },
      ],
      AND,
    ),
    [
      { at: 0, state: 'WARNING' },
      { at: 50, state: 'CRITICAL' },
    ],
  );
});

const nova = (
  metrics: Record<string, { seed?: string; results?: Array<[number, string]> }>,
  downtimes: Downtime[] = [],
) =>
  endpointDay(
    profiles,
    'org.openstack.nova',
    new Map(
      Object.entries(metrics).map(([name, m]) => [
        name,
        { seed: m.seed ?? null, results: (m.results ?? []).map(([a, s]) => ({ at: a, state: s })) },
      ]),
    ),
    downtimeIntervals(downtimes, dayStart),
  )!;
const VM = 'eu.egi.cloud.OpenStack-VM';
const TCP = 'org.nagios.Keystone-TCP';

test('an expected metric with no result all day makes the endpoint MISSING all day (A = R = -1)', (t) => {
  const timeline = nova({ [VM]: { seed: 'OK' } });
  t.deepEqual(timeline, constant('MISSING'));
  t.deepEqual(ratios(secondsOf(timeline, defaults)), { availability: -1, reliability: -1 });
});

test('a no-data day: A = -1, R = -1', (t) => {
  t.deepEqual(ratios(secondsOf(nova({}), defaults)), { availability: -1, reliability: -1 });
});

test('WARNING counts as up', (t) => {
  const s = secondsOf(
    nova({ [VM]: { seed: 'WARNING' }, [TCP]: { seed: 'OK', results: [[at(12), 'WARNING']] } }),
    defaults,
  );
  t.is(s.up, 86_400);
  t.deepEqual(ratios(s), { availability: 100, reliability: 100 });
});

test('a downtime ending 12:00 holds until 12:01, then the endpoint takes its metrics’ status, including changes during the downtime', (t) => {
  const timeline = nova(
    {
      [VM]: {
        seed: 'OK',
        results: [
          [at(9), 'CRITICAL'],
          [at(11), 'OK'],
        ],
      },
      [TCP]: { seed: 'OK', results: [[at(10), 'CRITICAL']] },
    },
    [outage(at(8), at(12))],
  );
  t.deepEqual(timeline, [
    { at: 0, state: 'OK' },
    { at: at(8), state: 'DOWNTIME' },
    { at: at(12, 1), state: 'CRITICAL' },
  ]);
  const s = secondsOf(timeline, defaults);
  t.deepEqual(s, { up: at(8), unknown: 0, down: at(4, 1), critical: 86_400 - at(12, 1), total: 86_400 });
});

test('overlapping downtimes merge; at-risk and unscheduled ones are ignored', (t) => {
  const timeline = nova({ [VM]: { seed: 'OK' }, [TCP]: { seed: 'OK', results: [[at(19), 'CRITICAL']] } }, [
    outage(at(8), at(10)),
    outage(at(9), at(11, 30)),
    outage(at(14), at(16), 'SCHEDULED', 'WARNING'),
    outage(at(18), at(20), 'UNSCHEDULED', 'OUTAGE'),
  ]);
  t.deepEqual(timeline, [
    { at: 0, state: 'OK' },
    { at: at(8), state: 'DOWNTIME' },
    { at: at(11, 31), state: 'OK' },
    { at: at(19), state: 'CRITICAL' },
  ]);
});

test('a downtime across midnight covers the end of one day and the start of the next', (t) => {
  const d = outage(at(22), 86_400 + at(2));
  t.deepEqual(downtimeIntervals([d], dayStart), [[at(22), 86_400]]);
  t.deepEqual(downtimeIntervals([d], dayStart + 86_400), [[0, at(2, 1)]]);
  t.deepEqual(applyDowntimes(constant('OK'), downtimeIntervals([d], dayStart + 86_400), 'DOWNTIME'), [
    { at: 0, state: 'DOWNTIME' },
    { at: at(2, 1), state: 'OK' },
  ]);
});

test('a downtime ending exactly at 00:00 is DOWNTIME 20:00-24:00 on its day and nothing at all on the next', (t) => {
  const d = outage(at(20), 86_400);
  t.deepEqual(downtimeIntervals([d], dayStart), [[at(20), 86_400]]);
  t.deepEqual(downtimeIntervals([d], dayStart + 86_400), []);
  const next = nova({ [VM]: { seed: 'OK' }, [TCP]: { seed: 'OK' } }, [outage(at(20) - 86_400, 0)]);
  t.deepEqual(next, constant('OK'));
  t.deepEqual(ratios(secondsOf(next, defaults)), { availability: 100, reliability: 100 });
});

test('an all-downtime day: A = 0, R = -1', (t) => {
  const timeline = nova({}, [outage(-at(2), 86_400 + at(3))]);
  t.deepEqual(timeline, constant('DOWNTIME'));
  t.deepEqual(ratios(secondsOf(timeline, defaults)), { availability: 0, reliability: -1 });
});

test('a service is the OR of its endpoints; the site the AND of its groups', (t) => {
  const a = [
    { at: 0, state: 'OK' },
    { at: at(6), state: 'CRITICAL' },
    { at: at(12), state: 'OK' },
  ];
  const b = [
    { at: 0, state: 'CRITICAL' },
    { at: at(10), state: 'OK' },
    { at: at(11), state: 'CRITICAL' },
  ];
  const site = siteDay(profiles, [
    { service: 'org.openstack.nova', timeline: a },
    { service: 'org.openstack.nova', timeline: b },
    { service: 'not.in.profile', timeline: constant('CRITICAL') },
  ]);
  const expected = [
    { at: 0, state: 'OK' },
    { at: at(6), state: 'CRITICAL' },
    { at: at(10), state: 'OK' },
    { at: at(11), state: 'CRITICAL' },
    { at: at(12), state: 'OK' },
  ];
  t.deepEqual(site.services.get('org.openstack.nova'), expected);
  t.deepEqual([...site.services.keys()], ['org.openstack.nova']);
  t.deepEqual(site.groups.get('cloud'), expected);
  t.deepEqual(site.site, expected);
  t.is(secondsOf(site.site!, defaults).critical, at(4) + at(1));
});

test('combine works on the union of change points', (t) => {
  t.deepEqual(
    combine(
      [
        [
          { at: 0, state: 'OK' },
          { at: 100, state: 'WARNING' },
        ],
        [
          { at: 0, state: 'OK' },
          { at: 50, state: 'UNKNOWN' },
          { at: 150, state: 'OK' },
        ],
      ],
      AND,
    ),
    [
      { at: 0, state: 'OK' },
      { at: 50, state: 'UNKNOWN' },
      { at: 150, state: 'WARNING' },
    ],
  );
});

test('A/R: A = up/(T-unknown), R = up/(T-unknown-down); a month from summed seconds, not averaged days', (t) => {
  const day1 = { ...zeroSeconds(), up: 43_200, critical: 43_200, total: 86_400 };
  const day2 = { ...zeroSeconds(), up: 21_600, unknown: 43_200, down: 21_600, total: 86_400 };
  t.deepEqual(ratios(day1), { availability: 50, reliability: 50 });
  t.deepEqual(ratios(day2), { availability: 50, reliability: 100 });
  const month = addSeconds(day1, day2);
  // (43200 + 21600) / (172800 - 43200) = 50 %; R = 64800 / 108000 = 60 % (the mean of days would give 75 %).
  t.deepEqual(ratios(month), { availability: 50, reliability: 60 });
});

test('secondsOf clips to the elapsed part of today', (t) => {
  const s = secondsOf(
    [
      { at: 0, state: 'OK' },
      { at: at(10), state: 'CRITICAL' },
      { at: at(20), state: 'OK' },
    ],
    defaults,
    at(12),
  );
  t.deepEqual(s, { up: at(10), unknown: 0, down: 0, critical: at(2), total: at(12) });
});

test('function groups: cloud OK all day, accounting CRITICAL 06:00-12:00 gives cloud 100, accounting 75, site 75 (AND)', (t) => {
  const accounting = [
    { at: 0, state: 'OK' },
    { at: at(6), state: 'CRITICAL' },
    { at: at(12), state: 'OK' },
  ];
  const day = siteDay(profiles, [
    { service: 'org.openstack.nova', timeline: constant('OK') },
    { service: 'eu.egi.cloud.accounting', timeline: accounting },
  ]);
  t.deepEqual([...day.groups.keys()], ['cloud', 'accounting']);
  const ar = (timeline: Parameters<typeof secondsOf>[0]) => ratios(secondsOf(timeline, defaults));
  t.deepEqual(ar(day.groups.get('cloud')!), { availability: 100, reliability: 100 });
  t.deepEqual(ar(day.groups.get('accounting')!), { availability: 75, reliability: 75 });
  t.deepEqual(ar(day.site!), { availability: 75, reliability: 75 });
});

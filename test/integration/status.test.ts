import test from 'ava';
import {
  accountingCheck,
  DEFAULT_RULES,
  type ExpectedMetrics,
  informationCheck,
  lastActivity,
  monitoringCheck,
  nextState,
  type SiteFacts,
  siteIntegration,
  stateHistory,
  stateOn,
} from '../../src/integration/status.ts';

const at = (iso: string) => Date.parse(iso) / 1000;
const NOVA = 'org.openstack.nova';
const METRICS = ['eu.egi.cloud.OpenStack-VM', 'org.nagios.Keystone-TCP'];
const expected: ExpectedMetrics = () => new Map([[NOVA, METRICS]]);

/** One result per metric at 00:30 each day from `first` to `last` (inclusive, YYYY-MM-DD). */
function daily(first: string, last: string): number[] {
  const out: number[] = [];
  for (let t = at(`${first}T00:30:00Z`); t <= at(`${last}T00:30:00Z`); t += 86_400) out.push(t);
  return out;
}

function facts(over: Partial<SiteFacts> = {}): SiteFacts {
  return {
    site: 'NEW-SITE',
    receipts: [],
    rejections: [],
    window: { records: 0, vms: 0 },
    endpoints: [],
    firstResult: null,
    monthly: [],
    snapshots: [],
    ...over,
  };
}

const endpoint = (results: number[], over = {}) => ({
  hostname: 'keystone.new.example.org',
  service: NOVA,
  counted: true,
  cloud: true,
  results: new Map(METRICS.map((m) => [m, results])),
  ...over,
});

/** A site that has done everything from 2026-10-20 on: records weekly, probes daily, a GLUE snapshot weekly. */
function complete(until: string): SiteFacts {
  const results = daily('2026-10-20', until);
  const weekly = results.filter((_, i) => i % 7 === 0);
  return facts({
    receipts: weekly,
    window: { records: 12, vms: 4 },
    endpoints: [endpoint(results)],
    firstResult: results[0]!,
    monthly: [{ month: '2026-11', availability: 99, reliability: 99, unknown: 0.01 }],
    snapshots: weekly.map((takenAt) => ({ takenAt, images: 3, flavours: 5 })),
  });
}

test('accounting passes with a record received within 7 days, fails silent past them, and says why', (t) => {
  const f = facts({ receipts: [at('2026-11-01T10:00:00Z')] });
  t.true(accountingCheck(f, at('2026-11-08T10:00:00Z'), DEFAULT_RULES).passed, 'exactly 7 days');
  const late = accountingCheck(f, at('2026-11-12T10:00:00Z'), DEFAULT_RULES);
  t.false(late.passed);
  t.deepEqual(late.reasons, ['silent for 11 days (last record received 2026-11-01T10:00:00Z)']);
  t.deepEqual(accountingCheck(facts(), at('2026-11-12T10:00:00Z'), DEFAULT_RULES), {
    name: 'accounting',
    passed: false,
    started: false,
    reasons: ['no usage record received'],
  });
  const rejectedOnly = accountingCheck(
    facts({ rejections: [at('2026-11-10T00:00:00Z')] }),
    at('2026-11-12T00:00:00Z'),
    DEFAULT_RULES,
  );
  t.deepEqual([rejectedOnly.started, rejectedOnly.reasons], [true, ['every record received so far was rejected']]);
  t.true(
    accountingCheck(f, at('2026-11-12T10:00:00Z'), { ...DEFAULT_RULES, silentAfterDays: 14 }).passed,
    'the silence is configurable',
  );
});

test('monitoring: a registered endpoint in the profile with every metric reporting in the last 24 hours', (t) => {
  const now = at('2026-12-02T12:00:00Z');
  const ok = facts({ endpoints: [endpoint([at('2026-12-01T12:30:00Z')])], firstResult: at('2026-12-01T12:30:00Z') });
  t.deepEqual(monitoringCheck(ok, now, expected, DEFAULT_RULES).reasons, []);
  const stale = facts({ endpoints: [endpoint([at('2026-12-01T11:30:00Z')])], firstResult: at('2026-12-01T11:30:00Z') });
  t.deepEqual(monitoringCheck(stale, now, expected, DEFAULT_RULES).reasons, [
    'keystone.new.example.org (org.openstack.nova): no result for eu.egi.cloud.OpenStack-VM since 2026-12-01T11:30:00Z',
    'keystone.new.example.org (org.openstack.nova): no result for org.nagios.Keystone-TCP since 2026-12-01T11:30:00Z',
  ]);
  const registeredOnly = monitoringCheck(facts({ endpoints: [endpoint([])] }), now, expected, DEFAULT_RULES);
  t.true(registeredOnly.started, 'registering its endpoint is a beginning');
  t.is(registeredOnly.reasons.length, 2);
  const notInProfile = monitoringCheck(
    facts({ endpoints: [endpoint([now - 60], { service: 'eu.egi.cloud.vm-management.occi' })], firstResult: now - 60 }),
    now,
    expected,
    DEFAULT_RULES,
  );
  t.deepEqual(notInProfile.reasons, [
    'keystone.new.example.org (eu.egi.cloud.vm-management.occi) is not in the aggregation profile',
  ]);
  t.deepEqual(
    monitoringCheck(facts({ endpoints: [endpoint([now - 60], { counted: false })] }), now, expected, DEFAULT_RULES)
      .reasons,
    ['no VM-management endpoint registered in production and monitored'],
  );
});

test("monitoring judges last month's A/R against the OLA only when the site was monitored all that month", (t) => {
  const now = at('2026-12-02T12:00:00Z');
  const results = daily('2026-10-20', '2026-12-02');
  const base = { endpoints: [endpoint(results)], firstResult: results[0]! };
  const under = facts({ ...base, monthly: [{ month: '2026-11', availability: 75, reliability: 84, unknown: 0.12 }] });
  t.deepEqual(monitoringCheck(under, now, expected, DEFAULT_RULES).reasons, [
    '2026-11: availability 75.00 % < 80 %',
    '2026-11: reliability 84.00 % < 85 %',
    '2026-11: unknown 12.00 % > 10 %',
  ]);
  // Monitored only from 2026-11-15: November is not held against it.
  const late = facts({
    endpoints: [endpoint(daily('2026-11-15', '2026-12-02'))],
    firstResult: at('2026-11-15T00:30:00Z'),
    monthly: under.monthly,
  });
  t.deepEqual(monitoringCheck(late, now, expected, DEFAULT_RULES).reasons, []);
  const s = siteIntegration(late, now, expected);
  t.deepEqual(s.monitoring.lastMonth, {
    month: '2026-11',
    availability: 75,
    reliability: 84,
    unknown: 12,
    assessed: false,
  });
  const undefinedAr = facts({ ...base, monthly: [] });
  t.deepEqual(monitoringCheck(undefinedAr, now, expected, DEFAULT_RULES).reasons, [
    '2026-11: availability undefined (no known status)',
  ]);
});

test('information: the latest GLUE snapshot lists images and flavours, however old', (t) => {
  const now = at('2026-12-02T12:00:00Z');
  const snap = (iso: string, images = 2, flavours = 3) => ({ takenAt: at(iso), images, flavours });
  t.true(informationCheck(facts({ snapshots: [snap('2026-06-01T00:00:00Z')] }), now).passed);
  t.deepEqual(
    informationCheck(facts({ snapshots: [snap('2026-06-01T00:00:00Z'), snap('2026-12-01T00:00:00Z', 2, 0)] }), now)
      .reasons,
    ['GLUE 2.1 document lists no templates (flavours)'],
  );
  t.true(
    informationCheck(facts({ snapshots: [snap('2026-06-01T00:00:00Z'), snap('2026-12-03T00:00:00Z', 0, 0)] }), now)
      .passed,
    'a later snapshot does not count yet',
  );
  t.deepEqual(informationCheck(facts(), now), {
    name: 'information',
    passed: false,
    started: false,
    reasons: ['no GLUE 2.1 document published (no collector snapshot)'],
  });
});

test('the state machine: not started, partial, integrated, and lapsed only after having been integrated', (t) => {
  const pass = { name: 'accounting' as const, passed: true, started: true, reasons: [] };
  const fail = { name: 'monitoring' as const, passed: false, started: false, reasons: ['x'] };
  const begun = { ...fail, started: true };
  t.is(nextState('not started', [fail, fail]), 'not started');
  t.is(nextState('not started', [begun, fail]), 'partial');
  t.is(nextState('not started', [pass, fail]), 'partial');
  t.is(nextState('partial', [pass, pass]), 'integrated');
  t.is(nextState('integrated', [pass, begun]), 'lapsed');
  t.is(nextState('lapsed', [fail, fail]), 'lapsed', 'stays lapsed, even with nothing left');
  t.is(nextState('lapsed', [pass, pass]), 'integrated');
});

test('a complete site is integrated since the day its last check first passed', (t) => {
  const s = siteIntegration(complete('2026-12-02'), at('2026-12-02T12:00:00Z'), expected);
  t.is(s.state, 'integrated');
  // Records, probes and GLUE all arrive on 2026-10-20; November is the first whole month monitored, but October's
  // A/R is not held against a site monitored from the 20th: integrated at the end of its first day.
  t.is(s.since, '2026-10-20');
  t.deepEqual(
    s.checks.map((c) => c.passed),
    [true, true, true],
  );
  t.deepEqual(s.accounting, {
    recordsReceived: 12,
    rejected: 0,
    rejectedShare: 0,
    lastReceived: '2026-12-01T00:30:00Z',
    vmsAccounted: 4,
  });
  t.deepEqual(s.information, { publishedAt: '2026-12-01T00:30:00Z', images: 3, flavours: 5 });
});

test('a site that stops publishing lapses on the day its silence passes 7 days, and records when', (t) => {
  const f = complete('2026-12-02');
  // Deliveries are weekly from 10-20; the last kept is 2026-11-03T00:30, so by the end of 11-10 it is silent > 7 days.
  const silent = { ...f, receipts: f.receipts.filter((r) => r <= at('2026-11-09T12:00:00Z')) };
  const history = stateHistory(silent, at('2026-12-02T12:00:00Z'), expected);
  t.deepEqual(history, [
    { day: '2026-10-20', state: 'integrated' },
    { day: '2026-11-10', state: 'lapsed' },
  ]);
  t.is(stateOn(history, '2026-11-09'), 'integrated');
  t.is(stateOn(history, '2026-10-19'), null, 'before its first fact');
  const s = siteIntegration(silent, at('2026-12-02T12:00:00Z'), expected);
  t.deepEqual([s.state, s.since], ['lapsed', '2026-11-10']);
  t.deepEqual(s.checks.find((c) => c.name === 'accounting')!.reasons, [
    'silent for 29 days (last record received 2026-11-03T00:30:00Z)',
  ]);
});

test('a site with only its endpoint registered is partial, one with nothing is not started and undated', (t) => {
  const now = at('2026-12-02T12:00:00Z');
  const registered = siteIntegration(facts({ endpoints: [endpoint([])] }), now, expected);
  t.deepEqual([registered.state, registered.since], ['partial', '2026-12-02']);
  const nothing = siteIntegration(facts(), now, expected);
  t.deepEqual([nothing.state, nothing.since], ['not started', null]);
  t.deepEqual(nothing.accounting.rejectedShare, null);
});

test('the share rejected counts the rejections of the last 30 days against the records kept in them', (t) => {
  const now = at('2026-12-02T12:00:00Z');
  const s = siteIntegration(
    facts({
      receipts: [now - 3600],
      rejections: [at('2026-10-01T00:00:00Z'), now - 7200],
      window: { records: 3, vms: 2 },
    }),
    now,
    expected,
  );
  t.deepEqual([s.accounting.rejected, s.accounting.rejectedShare], [1, 0.25]);
});

test("a site's last activity is its last usage receipt or probe result before the end, whichever is later", (t) => {
  const f = facts({
    receipts: [at('2026-10-03T00:00:00Z'), at('2026-11-05T00:00:00Z')],
    endpoints: [endpoint([at('2026-10-20T00:30:00Z'), at('2026-11-02T00:30:00Z')])],
    snapshots: [{ takenAt: at('2026-10-25T00:00:00Z'), images: 1, flavours: 1 }],
  });
  t.is(lastActivity(f, at('2026-11-01T00:00:00Z')), at('2026-10-20T00:30:00Z'), 'a snapshot is not activity');
  t.is(lastActivity(f, at('2026-12-01T00:00:00Z')), at('2026-11-05T00:00:00Z'));
  t.is(lastActivity(f, at('2026-10-01T00:00:00Z')), null);
});

import test from 'ava';
import { DateTime } from 'luxon';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  DEMO_CANDIDATE_SITE,
  DEMO_FIXTURE_END,
  DEMO_LAPSING_SITE,
  DEMO_SITES,
  DEMO_VOS,
  demoFederation,
} from '../../src/demo/federation.ts';
import { DEMO_DIR, loadDemo } from '../../src/demo/load.ts';
import { snapshotHistory } from '../../src/glue2/snapshots.ts';
import { composeReport } from '../../src/reports/compose.ts';
import { gatherInput, readModelDbs } from '../../src/reports/generate.ts';
import { parsePeriod } from '../../src/reports/period.ts';
import { startHarness } from './harness.ts';

/** A day the demo is loaded on, mid-month and mid-day. */
const LOADED = new Date('2026-12-02T10:37:00Z');

test('the committed demo fixtures are exactly what the seeded generator writes (npm run demo:fixtures)', (t) => {
  const { files } = demoFederation(DEMO_FIXTURE_END);
  const committed = readdirSync(DEMO_DIR, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(DEMO_DIR, path.join(e.parentPath, e.name)))
    .sort();
  t.deepEqual(committed, Object.keys(files).sort());
  for (const name of committed) t.is(readFileSync(path.join(DEMO_DIR, name), 'utf8'), files[name]!, name);
});

test('the demo federation is the same for the same seed and hour, and moves with the day it is generated for', (t) => {
  const at = DateTime.fromJSDate(LOADED, { zone: 'utc' });
  const probes = (end: DateTime, seed?: number) => demoFederation(end, seed).files['probes/results.jsonl']!;
  t.deepEqual(demoFederation(at, 7), demoFederation(at, 7), 'same seed, same federation');
  t.deepEqual(demoFederation(at), demoFederation(at.plus({ minutes: 20 })), 'the same within the hour');
  t.notDeepEqual(probes(at, 7), probes(at, 8));
  const { files, published } = demoFederation(at);
  const months = [...new Set(Object.keys(files).flatMap((f) => /-(\d{4}-\d{2})\.txt$/.exec(f)?.[1] ?? []))].sort();
  t.deepEqual(months, ['2026-06', '2026-07', '2026-08', '2026-09', '2026-10', '2026-11', '2026-12']);
  t.deepEqual(
    Object.keys(published).sort(),
    Object.keys(files)
      .filter((f) => f.startsWith('apel/'))
      .sort(),
  );
  t.true(
    Object.values(published).every((p) => p < at),
    'nothing published after the end',
  );
  const times = probes(at)
    .trim()
    .split('\n')
    .map((l) => Date.parse((JSON.parse(l) as { timestamp: string }).timestamp));
  const last = Math.max(...times);
  t.true(last < LOADED.getTime() && last > LOADED.getTime() - 2 * 3600_000, 'probes up to the last hour');
});

test('the demo federation, served: 8+ sites on both middlewares, 10+ VOs, 6 months, outages and a quarantined record', async (t) => {
  t.true(DEMO_SITES.length >= 8 && DEMO_VOS.length >= 10);
  const h = await startHarness({ seed: false, now: LOADED });
  t.teardown(() => h.close());
  await loadDemo(h.log, LOADED);
  for (const r of h.runners.values()) await r.catchUp();
  const staff = h.token('staff');
  const r = await h.gql<{
    bySite: { rows: Array<{ key: { site: string; cloudType: string } }> };
    byVo: { rows: unknown[] };
    byMonth: { rows: Array<{ key: { month: string } }> };
    availability: Array<{ site: string; availability: number }>;
    quarantine: { edges: Array<{ node: { site: string } }> };
  }>(
    staff,
    `{ bySite: accountingSummary(groupBy: [site, cloudType]) { rows { key { site cloudType } } }
       byVo: accountingSummary(groupBy: [vo]) { rows { key { vo } } }
       byMonth: accountingSummary(groupBy: [month]) { rows { key { month } } }
       availability(from: "2026-06-01", to: "2026-11-30", granularity: range, levels: [site]) { site availability }
       quarantine { edges { node { site } } } }`,
  );
  const d = r.data!;
  t.is(new Set(d.bySite.rows.map((x) => x.key.site)).size, DEMO_SITES.length);
  t.true(
    d.bySite.rows.some((x) => x.key.cloudType === 'OpenNebula') &&
      d.bySite.rows.some((x) => /OpenStack/.test(x.key.cloudType)),
  );
  t.true(d.byVo.rows.length >= 10);
  t.deepEqual(
    d.byMonth.rows.map((x) => x.key.month),
    ['2026-06', '2026-07', '2026-08', '2026-09', '2026-10', '2026-11', '2026-12'],
  );
  t.is(d.availability.length, DEMO_SITES.length);
  t.true(
    d.availability.some((x) => x.availability < 80),
    'one site is under the 80 % target',
  );
  t.true(d.availability.every((x) => x.availability > 0 && x.availability < 100.0001));
  t.deepEqual(
    d.quarantine.edges.map((q) => q.node.site),
    ['GRNET-OPENSTACK'],
  );
});

test('a demo loaded today is alive: current statuses, and last month reported with every site publishing', async (t) => {
  const h = await startHarness({ seed: false, now: LOADED });
  t.teardown(() => h.close());
  await loadDemo(h.log, LOADED);
  for (const r of h.runners.values()) await r.catchUp();
  const r = await h.gql<{ latestStatus: { sites: Array<{ site: string; status: string }> } }>(
    h.token('staff'),
    '{ latestStatus { sites { site status } } }',
  );
  const statuses = r.data!.latestStatus.sites;
  t.is(statuses.length, DEMO_SITES.length);
  t.deepEqual(
    statuses.filter((s) => s.status === 'MISSING' || s.status === 'UNKNOWN'),
    [],
  );

  const report = composeReport(
    gatherInput(readModelDbs(h.runners), parsePeriod('2026-11'), await snapshotHistory(h.log)),
  );
  t.deepEqual(report.dataQuality.silentPublishers, []);
  t.deepEqual(
    report.resourceCentres.filter((c) => !c.active),
    [],
  );
  t.true(report.totals.current.wallHours > 0 && report.totals.previous.wallHours > 0);
  t.true(report.sites.filter((s) => s.shortfalls.length > 0).length < DEMO_SITES.length / 2);
});

test('the demo federation shows every integration state: integrated, partial with why, lapsed, not started', async (t) => {
  const h = await startHarness({ seed: false, now: LOADED });
  t.teardown(() => h.close());
  await loadDemo(h.log, LOADED);
  for (const r of h.runners.values()) await r.catchUp();
  const r = await h.gql<{ siteIntegrations: Array<{ site: string; state: string; since: string | null }> }>(
    h.token('staff'),
    '{ siteIntegrations { site state since } }',
  );
  const byState = new Map<string, string[]>();
  for (const s of r.data!.siteIntegrations) byState.set(s.state, [...(byState.get(s.state) ?? []), s.site]);
  t.deepEqual(Object.fromEntries(byState), {
    // OpenNebula's collector reads no templates: their GLUE documents list no flavours.
    partial: ['CESGA', 'IISAS-FedCloud', 'UPV-GRyCAP'],
    integrated: ['CESNET-MCC', 'CYFRONET-CLOUD', 'IFCA-LCG2', 'INFN-CLOUD-BARI'],
    // GRNET's image list came back empty on Nov 22; SCAI was integrated at the end of its first month, when June's
    // A/R was not yet judged, and has been under target every month since.
    lapsed: [DEMO_LAPSING_SITE, 'SCAI'],
    not_started: [DEMO_CANDIDATE_SITE.name],
  });
  // The demo's sites publish once a month, so each is silent for more than 7 days mid-month: GRNET had lapsed on
  // Nov 7 and never got back before its GLUE document lost its images.
  t.deepEqual(
    r.data!.siteIntegrations.filter((s) => s.state === 'lapsed'),
    [
      { site: DEMO_LAPSING_SITE, state: 'lapsed', since: '2026-11-07' },
      { site: 'SCAI', state: 'lapsed', since: '2026-07-01' },
    ],
  );
});

import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DEMO_SITES, DEMO_VOS, demoFederation } from '../../src/demo/federation.ts';
import { DEMO_DIR, loadDemo } from '../../src/demo/load.ts';
import { startHarness } from './harness.ts';

test('the committed demo fixtures are exactly what the seeded generator writes (npm run demo:fixtures)', (t) => {
  const files = demoFederation();
  const committed = readdirSync(DEMO_DIR, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(DEMO_DIR, path.join(e.parentPath, e.name)))
    .sort();
  t.deepEqual(committed, Object.keys(files).sort());
  for (const name of committed) t.is(readFileSync(path.join(DEMO_DIR, name), 'utf8'), files[name]!, name);
  t.deepEqual(demoFederation(7), demoFederation(7), 'same seed, same federation');
  t.notDeepEqual(demoFederation(7)['probes/results.jsonl'], demoFederation(8)['probes/results.jsonl']);
});

test('the demo federation, served: 8+ sites on both middlewares, 10+ VOs, 6 months, outages and a quarantined record', async (t) => {
  t.true(DEMO_SITES.length >= 8 && DEMO_VOS.length >= 10);
  const h = await startHarness({ seed: false, now: new Date('2026-11-15T00:00:00Z') });
  t.teardown(() => h.close());
  await loadDemo(h.log);
  for (const r of h.runners.values()) await r.catchUp();
  const staff = h.token('staff');
  const r = await h.gql<{
    bySite: { rows: Array<{ key: { site: string; cloudType: string } }> };
    byVo: { rows: unknown[] };
    byMonth: { rows: Array<{ key: { month: string } }> };
    availability: Array<{ site: string; availability: number }>;
    quarantine: Array<{ site: string }>;
  }>(
    staff,
    `{ bySite: accountingSummary(groupBy: [site, cloudType]) { rows { key { site cloudType } } }
       byVo: accountingSummary(groupBy: [vo]) { rows { key { vo } } }
       byMonth: accountingSummary(groupBy: [month]) { rows { key { month } } }
       availability(from: "2026-05-01", to: "2026-10-31", granularity: range, levels: [site]) { site availability }
       quarantine { site } }`,
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
    ['2026-05', '2026-06', '2026-07', '2026-08', '2026-09', '2026-10'],
  );
  t.is(d.availability.length, DEMO_SITES.length);
  t.true(
    d.availability.some((x) => x.availability < 80),
    'one site is under the 80 % target',
  );
  t.true(d.availability.every((x) => x.availability > 0 && x.availability < 100.0001));
  t.deepEqual(
    d.quarantine.map((q) => q.site),
    ['GRNET-OPENSTACK'],
  );
});

import { appendByStream } from '../../src/eventlog/append-by-stream.ts';
import test from 'ava';
import { snapshotEvent } from '../../src/collectors/emit.ts';
import { startHarness } from './harness.ts';

const QUERY = 'query ($site: String) { sites(name: $site) { name glue2 } }';

test("Site.glue2 serves the GLUE 2.1 description the collectors saw, within the caller's scope", async (t) => {
  const h = await startHarness();
  t.teardown(() => h.close());
  await appendByStream(h.log, [
    snapshotEvent({
      source: 'site-a-openstack',
      siteName: 'SITE-A',
      takenAt: '2026-03-01T10:00:00Z',
      middleware: 'openstack',
      endpoints: [
        { url: 'https://keystone.host-a.example.org:5000/v3', type: 'identity', interface: 'public', region: null },
      ],
      images: [],
      flavors: [
        {
          id: 'f1',
          name: 'small',
          vcpus: 2,
          ramMb: 4096,
          diskGb: 20,
          isPublic: true,
          benchmarkType: null,
          benchmark: null,
        },
      ],
      shares: [{ projectId: 'p1', projectName: 'alpha', vo: 'alpha', runningVm: 1, totalVm: 1 }],
    }),
  ]);
  const staff = await h.gql<{ sites: Array<{ name: string; glue2: string | null }> }>(h.token('staff'), QUERY, {});
  const bySite = Object.fromEntries(staff.data!.sites.map((s) => [s.name, s.glue2]));
  t.is(bySite['SITE-B'], null, 'no collector has seen SITE-B');
  const doc = JSON.parse(bySite['SITE-A']!) as Record<string, Array<Record<string, unknown>>>;
  t.is(doc['CloudComputingEndpoint']![0]!['URL'], 'https://keystone.host-a.example.org:5000/v3');
  t.deepEqual(
    doc['CloudComputingInstanceType']!.map((f) => [f['Name'], f['CPU'], f['RAM']]),
    [['small', 2, 4096]],
  );
  const other = await h.gql(h.token('site', 'SITE-B'), QUERY, { site: 'SITE-A' });
  t.is(other.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  t.falsy(other.data);
});

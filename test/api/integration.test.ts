import test from 'ava';
import { ingestApelMessage } from '../../src/ingest/apel-service.ts';
import type { ServeConfig } from '../../src/api/config.ts';
import { appendSnapshot } from '../support/snapshots.ts';
import { startHarness, type Harness } from './harness.ts';

/** The harness federation on 2026-03-01 at 18:00, when SITE-A has published again and its collector has run. */
const NOW = new Date('2026-03-01T18:00:00Z');

/** One record of a VM started on Feb 20, received at `receivedAt`. */
function publish(h: Harness, site: string, vm: string, receivedAt: string) {
  const start = Date.UTC(2026, 1, 20) / 1000;
  return ingestApelMessage(
    h.log,
    `APEL-cloud-message: v0.4\nVMUUID: ${vm}\nSiteName: ${site}\nFQAN: alpha\nStatus: started\nStartTime: ${start}\nWallDuration: 3600\nRecordCreateTime: ${start + 3600}\n`,
    { publisher: 'test', receivedAt: new Date(receivedAt) },
  );
}

async function federation(config: Partial<ServeConfig> = {}): Promise<Harness> {
  const h = await startHarness({ now: NOW, config });
  await publish(h, 'SITE-A', 'vm-9', '2026-03-01T06:00:00Z');
  await appendSnapshot(h.log, 'SITE-A', '2026-03-01T06:00:00Z');
  for (const r of h.runners.values()) await r.catchUp();
  return h;
}

const FIELDS = `site state since checks { name passed reasons }
  accounting { recordsReceived rejected rejectedShare lastReceived vmsAccounted }
  monitoring { endpoints { hostname service counted inProfile metrics { metric lastResult reporting } }
               lastMonth { month availability assessed } }
  information { publishedAt images flavours }`;

interface Status {
  site: string;
  state: string;
  since: string | null;
  checks: Array<{ name: string; passed: boolean; reasons: string[] }>;
  accounting: {
    recordsReceived: number;
    rejected: number;
    rejectedShare: number | null;
    lastReceived: string;
    vmsAccounted: number;
  };
  monitoring: { endpoints: Array<{ hostname: string; metrics: Array<{ metric: string; reporting: boolean }> }> };
  information: { publishedAt: string | null; images: number; flavours: number };
}

test('staff see every site: SITE-A integrated with its evidence, SITE-B partial with why, filtered by state', async (t) => {
  const h = await federation();
  t.teardown(() => h.close());
  const r = await h.gql<{ all: Status[]; integrated: Array<{ site: string }>; partial: Array<{ site: string }> }>(
    h.token('staff'),
    `{ all: siteIntegrations { ${FIELDS} } integrated: siteIntegrations(state: integrated) { site }
       partial: siteIntegrations(state: partial) { site } }`,
  );
  t.is(r.errors, undefined);
  const [a, b] = r.data!.all;
  t.deepEqual(
    [a!.site, a!.state, a!.since, b!.site, b!.state, b!.since],
    ['SITE-A', 'integrated', '2026-03-01', 'SITE-B', 'partial', '2026-02-05'],
  );
  t.deepEqual(
    a!.checks.map((c) => c.passed),
    [true, true, true],
  );
  // Within 30 days: vm-1's January and February VM-months, vm-2's and vm-9's February ones (3 VMs); vm-bad rejected.
  t.deepEqual(a!.accounting, {
    recordsReceived: 4,
    rejected: 1,
    rejectedShare: 0.2,
    lastReceived: '2026-03-01T06:00:00Z',
    vmsAccounted: 3,
  });
  t.deepEqual(a!.information, { publishedAt: '2026-03-01T06:00:00Z', images: 1, flavours: 1 });
  t.deepEqual(
    a!.monitoring.endpoints.map((e) => [e.hostname, e.metrics.map((m) => m.reporting)]),
    [['host-a.example.org', [true, true]]],
  );
  t.deepEqual(
    b!.checks.filter((c) => !c.passed).map((c) => [c.name, c.reasons]),
    [
      ['accounting', ['silent for 24 days (last record received 2026-02-05T00:00:00Z)']],
      ['information', ['no GLUE 2.1 document published (no collector snapshot)']],
    ],
  );
  t.deepEqual(r.data!.integrated, [{ site: 'SITE-A' }]);
  t.deepEqual(r.data!.partial, [{ site: 'SITE-B' }]);
});

test("a site token sees its own site's status only; other roles none", async (t) => {
  const h = await federation();
  t.teardown(() => h.close());
  const site = h.token('site', 'SITE-B');
  const own = await h.gql<{ all: Array<{ site: string }>; one: { state: string } }>(
    site,
    '{ all: siteIntegrations { site } one: siteIntegration(site: "SITE-B") { state } }',
  );
  t.deepEqual(own.data, { all: [{ site: 'SITE-B' }], one: { state: 'partial' } });
  const other = await h.gql(site, '{ siteIntegration(site: "SITE-A") { state } }');
  t.is(other.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  const unknown = await h.gql(h.token('staff'), '{ siteIntegration(site: "NO-SUCH-SITE") { state } }');
  t.deepEqual(unknown.data, { siteIntegration: null });
  for (const token of [h.token('community', 'alpha'), h.token('dashboard'), h.token('ingest', 'SITE-A')]) {
    const r = await h.gql(token, '{ siteIntegrations { site } }');
    t.is(r.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  }
});

test('/metrics has a gauge of sites per integration state', async (t) => {
  const h = await federation();
  t.teardown(() => h.close());
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const gauge = Object.fromEntries(
    [...text.matchAll(/^fedledger_sites_integration\{state="([^"]+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]),
  );
  t.deepEqual(gauge, { 'not started': 0, partial: 1, integrated: 1, lapsed: 0 });
});

test('a new record and a collector snapshot show in the next answer: SITE-B completes its integration', async (t) => {
  const h = await federation();
  t.teardown(() => h.close());
  const staff = h.token('staff');
  const ask = async () =>
    (
      await h.gql<{ siteIntegration: { state: string; since: string } }>(
        staff,
        '{ siteIntegration(site: "SITE-B") { state since } }',
      )
    ).data!.siteIntegration;
  t.deepEqual(await ask(), { state: 'partial', since: '2026-02-05' });
  await publish(h, 'SITE-B', 'vm-10', '2026-03-01T12:00:00Z');
  await appendSnapshot(h.log, 'SITE-B', '2026-03-01T12:00:00Z');
  for (const r of h.runners.values()) await r.catchUp();
  t.deepEqual(await ask(), { state: 'integrated', since: '2026-03-01' });
});

test("serve's integrationSilentAfterDays sets how long accounting may be silent", async (t) => {
  const h = await federation({ integrationSilentAfterDays: 30 });
  t.teardown(() => h.close());
  const r = await h.gql<{ siteIntegration: { checks: Array<{ name: string; passed: boolean }> } }>(
    h.token('staff'),
    '{ siteIntegration(site: "SITE-B") { checks { name passed } } }',
  );
  // SITE-B's last record arrived 24 days before: within 30.
  t.deepEqual(
    r.data!.siteIntegration.checks.find((c) => c.name === 'accounting'),
    { name: 'accounting', passed: true },
  );
});

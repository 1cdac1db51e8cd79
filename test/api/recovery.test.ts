import test from 'ava';
import type Database from 'better-sqlite3';
import { until } from '../support/until.ts';
import { startHarness, type Harness } from './harness.ts';

const jan = Date.UTC(2026, 0, 1) / 1000;
/** An APEL message of `vms` new SITE-A VMs in January, each 10 wall hours on one core. */
function message(vms: number, prefix: string): string {
  const records = Array.from({ length: vms }, (_, i) =>
    [
      `VMUUID: ${prefix}-${i}`,
      'SiteName: SITE-A',
      'FQAN: /alpha/Role=NULL',
      'GlobalUserName: alice',
      'Status: started',
      `StartTime: ${jan}`,
      'WallDuration: 36000',
      'CpuDuration: 36000',
      'CpuCount: 1',
      `ImageId: image-of-a-fairly-long-name-${i}`,
      'CloudType: OpenStack',
      `RecordCreateTime: ${jan + 86400 * 10}`,
    ].join('\n'),
  );
  return `APEL-cloud-message: v0.4\n${records.join('\n%%\n')}\n%%\n`;
}

const push = (h: Harness, text: string) =>
  fetch(`${h.url}/v1/apel/cloud`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.token('staff')}` },
    body: text,
  });

/** Lets `db` grow by no page beyond its current size (SQLite then fails writes with SQLITE_FULL), or undoes it. */
const limitGrowth = (db: Database.Database, limited: boolean) =>
  db.pragma(`max_page_count = ${limited ? String(db.pragma('page_count', { simple: true })) : '1073741823'}`);

interface Readiness {
  ready: boolean;
  projections: Array<{ name: string; failing?: { reason: string; attempts: number } }>;
}
const readiness = async (h: Harness) => {
  const response = await fetch(`${h.url}/readyz`);
  return { status: response.status, body: (await response.json()) as Readiness };
};
const metric = async (h: Harness, line: RegExp) => line.exec(await (await fetch(`${h.url}/metrics`)).text())?.[1];

const SITE_A_WALL = `{ accountingSummary(groupBy: [site], filter: { sites: ["SITE-A"] }) { total { wallHours } } }`;
const wallHours = async (h: Harness) =>
  Number(
    (await h.gql<{ accountingSummary: { total: { wallHours: number } } }>(h.token('staff'), SITE_A_WALL)).data!
      .accountingSummary.total.wallHours,
  );

test('a projection that cannot write (full disk) shows in /readyz and /metrics at once, and recovers without a restart', async (t) => {
  const h = await startHarness({ live: true });
  try {
    const before = await wallHours(h);
    const accounting = h.runners.get('accounting')!.db;
    limitGrowth(accounting, true);
    t.is((await push(h, message(400, 'full'))).status, 200, 'the event store itself is not full');
    const failing = await until(async () => {
      const r = await readiness(h);
      return r.body.projections.find((p) => p.name === 'accounting')?.failing ? r : undefined;
    });
    t.is(failing.status, 503);
    t.false(failing.body.ready);
    t.regex(failing.body.projections.find((p) => p.name === 'accounting')!.failing!.reason, /^SQLITE_FULL: /);
    t.is(await metric(h, /^fedledger_projection_failing\{projection="accounting"\} (\d+)$/m), '1');
    t.not(await metric(h, /^fedledger_projection_failures_total\{projection="accounting"\} (\d+)$/m), '0');
    t.is(await wallHours(h), before);

    limitGrowth(accounting, false);
    const recovered = await until(async () => {
      const r = await readiness(h);
      return r.status === 200 ? r : undefined;
    });
    t.true(recovered.body.ready);
    t.true(recovered.body.projections.every((p) => p.failing === undefined));
    t.is(await metric(h, /^fedledger_projection_failing\{projection="accounting"\} (\d+)$/m), '0');
    t.is(await wallHours(h), before + 400 * 10);
  } finally {
    await h.close();
  }
});

test('a push the event store cannot hold (full disk) answers 503 with the reason and Retry-After, then succeeds once there is room', async (t) => {
  const h = await startHarness({ live: true });
  try {
    const store = (h.log as unknown as { db: Database.Database }).db;
    limitGrowth(store, true);
    const refused = await push(h, message(400, 'later'));
    t.is(refused.status, 503);
    t.truthy(refused.headers.get('retry-after'));
    const body = (await refused.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    t.is(body.errors[0]!.extensions.code, 'STORE_FULL');
    t.regex(body.errors[0]!.message, /disk full/);
    limitGrowth(store, false);
    const accepted = await push(h, message(400, 'later'));
    t.is(accepted.status, 200);
    t.is(((await accepted.json()) as { accepted: number }).accepted, 400);
  } finally {
    await h.close();
  }
});

import test from 'ava';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SummaryRow } from '../../src/accounting/summary.ts';
import { AmsClient } from '../../src/integrations/ams/client.ts';
import { planSend, sendPlan, siteMonths } from '../../src/integrations/ams/send.ts';
import type { EventData } from '../../src/events/catalogue.ts';
import { ingestApelMessage } from '../../src/ingest/apel-service.ts';
import { querySummaries } from '../../projections/accounting/queries.ts';
import { startHarness, type Harness } from '../api/harness.ts';
import { AMS_TOKEN, AMS_URL, fakeAms } from '../support/fake-ams.ts';
import { makeTestPki, type Issued, type TestPki } from '../support/pki.ts';

const PROJECT = 'accounting';
const TOPIC = 'portal-summaries';

let pki: TestPki;
let own: Issued;
test.before(() => {
  pki = makeTestPki();
  own = pki.issue('fedledger', '/DC=org/DC=example/CN=fedledger.example.org');
});
test.after.always(() => pki?.cleanup());

const client = () =>
  new AmsClient(
    { url: AMS_URL, project: PROJECT, token: AMS_TOKEN, auth: 'header' },
    { timeoutMs: 5000, retries: 0, backoffMs: 1 },
  );

async function rows(h: Harness): Promise<SummaryRow[]> {
  const accounting = h.runners.get('accounting')!;
  await accounting.catchUp();
  return querySummaries(accounting.db);
}

/** `openssl smime -verify` of a published message against the test CA, as the portal's SSM would. */
function opensslVerify(signed: string): string {
  const file = path.join(pki.dir, 'published.smime');
  writeFileSync(file, signed);
  return execFileSync(
    'openssl',
    ['smime', '-verify', '-in', file, '-CApath', pki.trustedCaDir, '-purpose', 'any', '-text'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  ).replaceAll('\r\n', '\n');
}

/** A summary row of SITE-A in January 2026, with `over` changed. */
const summaryRow = (over: Partial<SummaryRow>): SummaryRow => ({
  siteName: 'SITE-A',
  cloudComputeService: null,
  year: 2026,
  month: 1,
  globalUserName: null,
  vo: null,
  voGroup: null,
  voRole: null,
  status: 'completed',
  cloudType: 'OpenStack',
  imageId: null,
  earliestStartTime: 0,
  latestStartTime: 0,
  wallDuration: 3600,
  cpuDuration: 3600,
  cpuCount: 1,
  networkInbound: null,
  networkOutbound: null,
  memory: null,
  disk: null,
  benchmarkType: null,
  benchmark: 0,
  numberOfVms: 1,
  ...over,
});

async function sentEvents(h: Harness) {
  const found: Array<EventData<'SummariesSent'>> = [];
  for await (const e of h.log.readAll({ filter: { eventTypes: ['SummariesSent'] } }))
    found.push(e.data as EventData<'SummariesSent'>);
  return found;
}

test.serial(
  'summaries go out signed (openssl smime -verify accepts them), are recorded, and only changed months go again',
  async (t) => {
    const h = await startHarness();
    const ams = fakeAms();
    try {
      const first = await planSend(h.log, await rows(h));
      t.deepEqual(
        first.months.map((m) => [m.siteName, m.month]),
        [
          ['SITE-A', '2026-01'],
          ['SITE-A', '2026-02'],
          ['SITE-B', '2026-02'],
        ],
      );
      const sent = await sendPlan(h.log, client(), first, { topic: TOPIC, own, now: () => new Date('2026-03-02Z') });
      t.like(sent, { months: 3, messages: 1, messageIds: ['0'] });
      const [published] = ams.published(PROJECT, TOPIC);
      t.regex(published!.attributes['empaid']!, /^[0-9a-f]{32}$/);
      const content = opensslVerify(published!.data);
      t.is(content, first.messages[0]!.text, 'the verified content is the summary message');
      t.true(content.startsWith('APEL-cloud-summary-message: v0.4\nSiteName: SITE-A\n'));
      t.deepEqual(
        (await sentEvents(h)).map((e) => [e.siteName, e.month, e.records, e.messageIds]),
        [
          ['SITE-A', '2026-01', first.months[0]!.rows.length, ['0']],
          ['SITE-A', '2026-02', first.months[1]!.rows.length, ['0']],
          ['SITE-B', '2026-02', 1, ['0']],
        ],
      );

      t.deepEqual((await planSend(h.log, await rows(h))).months, [], 'nothing changed, nothing to send');

      // SITE-B's VM runs on: February's summary changes, nothing else does.
      const feb = Date.UTC(2026, 1, 1) / 1000;
      await ingestApelMessage(
        h.log,
        `APEL-cloud-message: v0.4\nVMUUID: vm-3b\nSiteName: SITE-B\nFQAN: /alpha/Role=NULL\nStatus: completed\nStartTime: ${feb}\nEndTime: ${feb + 7200}\nWallDuration: 7200\nCpuCount: 1\n%%\n`,
        { publisher: 'test' },
      );
      const second = await planSend(h.log, await rows(h));
      t.deepEqual(
        second.months.map((m) => [m.siteName, m.month]),
        [['SITE-B', '2026-02']],
      );
      await sendPlan(h.log, client(), second, { topic: TOPIC, own });
      t.is(ams.published(PROJECT, TOPIC).length, 2);
      t.true(opensslVerify(ams.published(PROJECT, TOPIC)[1]!.data).includes('SiteName: SITE-B\n'));
    } finally {
      ams.done();
      await h.close();
    }
  },
);

test('at most 1,000 records a message; every record of the changed months goes', async (t) => {
  const h = await startHarness({ seed: false });
  try {
    const row = (i: number) => summaryRow({ month: 1 + (i % 2), globalUserName: `user-${i}`, vo: 'alpha' });
    const plan = await planSend(
      h.log,
      Array.from({ length: 2001 }, (_, i) => row(i)),
    );
    t.deepEqual(
      plan.messages.map((m) => (m.text.match(/^%%$/gm) ?? []).length),
      [1000, 1000, 1],
    );
    t.deepEqual(
      plan.months.map((m) => [m.month, m.rows.length]),
      [
        ['2026-01', 1001],
        ['2026-02', 1000],
      ],
    );
  } finally {
    await h.close();
  }
});

test("a month's hash is of its records: the same rows hash the same, a changed figure does not", (t) => {
  const base = siteMonths([summaryRow({ siteName: 'S', month: 3, wallDuration: 10 })]);
  const again = siteMonths(base[0]!.rows.map((r) => ({ ...r })));
  const changed = siteMonths(base[0]!.rows.map((r) => ({ ...r, wallDuration: 11 })));
  t.is(base[0]!.month, '2026-03');
  t.is(again[0]!.contentHash, base[0]!.contentHash);
  t.not(changed[0]!.contentHash, base[0]!.contentHash);
});

import test from 'ava';
import { AmsClient } from '../../src/integrations/ams/client.ts';
import { receiveFromAms, type ReceiveSettings } from '../../src/integrations/ams/receive.ts';
import { loadSignerSites, signerSites } from '../../src/integrations/ams/signers.ts';
import { encryptSmime, signSmime, slashDn, verifySmime } from '../../src/integrations/ams/smime.ts';
import { readFileSync } from 'node:fs';
import type { EventLog } from '../../src/eventlog/port.ts';
import { streams, type EventData } from '../../src/events/catalogue.ts';
import { decode, encode } from '../../src/events/codec.ts';
import { parseGocdb } from '../../src/ingest/gocdb.ts';
import { startHarness, type Harness } from '../api/harness.ts';
import { AMS_TOKEN, AMS_URL, fakeAms, type FakeAms } from '../support/fake-ams.ts';
import { makeTestPki, type Issued, type TestPki } from '../support/pki.ts';

const SITE_A_DN = '/DC=org/DC=example/O=Site A/CN=cloud.site-a.example.org';
const SITE_B_DN = '/DC=org/DC=example/O=Site B/CN=cloud.site-b.example.org';
const PROJECT = 'accounting';
const SUB = 'fedledger-incoming';

let pki: TestPki;
let siteA: Issued;
let siteB: Issued;
let own: Issued;
test.before(() => {
  pki = makeTestPki();
  siteA = pki.issue('site-a', SITE_A_DN);
  siteB = pki.issue('site-b', SITE_B_DN);
  own = pki.issue('fedledger', '/DC=org/DC=example/CN=fedledger.example.org');
});
test.after.always(() => pki?.cleanup());

const jan = Date.UTC(2026, 0, 1) / 1000;
/** One VM of SITE-A: 10 hours on 2 cores in January 2026. */
const message = (site = 'SITE-A', vm = 'vm-ams-1') => `APEL-cloud-message: v0.4
VMUUID: ${vm}
SiteName: ${site}
FQAN: /alpha/Role=NULL
GlobalUserName: alice
Status: completed
StartTime: ${jan}
EndTime: ${jan + 36000}
WallDuration: 36000
CpuDuration: 72000
CpuCount: 2
Memory: 4096
%%
`;

/** GOCDB topology: SITE-A's endpoint with its host certificate's DN (HOSTDN), SITE-B's with its own. */
async function registerHostDns(log: EventLog) {
  for (const [siteName, hostname, hostDn] of [
    ['SITE-A', 'cloud.site-a.example.org', SITE_A_DN],
    ['SITE-B', 'cloud.site-b.example.org', SITE_B_DN],
  ] as const) {
    const endpoint: EventData<'ServiceEndpointRegistered'> = {
      siteName,
      hostname,
      service: 'org.openstack.nova',
      url: `https://${hostname}:5000/v3`,
      primaryKey: null,
      inProduction: true,
      monitored: true,
      scopes: ['EGI', 'FedCloud'],
      hostDn,
    };
    await log.append(streams.site(siteName), [encode('ServiceEndpointRegistered', endpoint, endpoint)]);
  }
}

interface World {
  h: Harness;
  ams: FakeAms;
  client: AmsClient;
  settings: () => Promise<ReceiveSettings>;
}

async function world(): Promise<World> {
  const h = await startHarness({ seed: false });
  await registerHostDns(h.log);
  const ams = fakeAms();
  const client = new AmsClient(
    { url: AMS_URL, project: PROJECT, token: AMS_TOKEN, auth: 'header' },
    { timeoutMs: 5000, retries: 0, backoffMs: 1 },
  );
  return {
    h,
    ams,
    client,
    settings: async () => ({
      subscription: SUB,
      batchSize: 10,
      maxBatches: 10,
      trustedCaDir: pki.trustedCaDir,
      own,
      signerSites: await loadSignerSites(h.log),
      now: () => new Date('2026-02-05T00:00:00Z'),
    }),
  };
}

/** Runs `body` in a fresh world, closed after whatever happens. */
async function inWorld(body: (w: World) => Promise<void>): Promise<void> {
  const w = await world();
  try {
    await body(w);
  } finally {
    w.ams.done();
    await w.h.close();
  }
}

const SUMMARY = `{ accountingSummary(groupBy: [site]) { rows { key { site } figures { vms wallHours coreHours } } } }`;
async function figures(h: Harness) {
  for (const r of h.runners.values()) await r.catchUp();
  const r = await h.gql<{
    accountingSummary: { rows: Array<{ key: { site: string }; figures: Record<string, unknown> }> };
  }>(h.token('staff'), SUMMARY, {}, 'GET');
  return r.data!.accountingSummary.rows.map((x) => [x.key.site, Number(x.figures['vms']), x.figures['coreHours']]);
}

async function rejections(log: EventLog) {
  const found: Array<EventData<'CloudRecordRejected'>> = [];
  for await (const e of log.readAll({ filter: { eventTypes: ['CloudRecordRejected'] } })) {
    const d = decode(e);
    if (d.type === 'CloudRecordRejected') found.push(d.data);
  }
  return found;
}

test.serial('a signed message pulled from AMS ends in the GraphQL figures and is acknowledged', (t) =>
  inWorld(async (w) => {
    w.ams.enqueue(PROJECT, SUB, await signSmime(message(), siteA), { empaid: '20260205/abc' });
    const summary = await receiveFromAms(w.h.log, w.client, await w.settings());
    t.like(summary, { pulled: 1, ingested: 1, acknowledged: 1, records: { accepted: 1, rejected: 0 } });
    t.is(w.ams.offset(PROJECT, SUB), 1, 'acknowledged');
    // 10 hours on 2 cores.
    t.deepEqual(await figures(w.h), [['SITE-A', 1, 20]]);
    let publisher = '';
    for await (const e of w.h.log.readAll({ filter: { eventTypes: ['CloudUsageRecorded'] } }))
      publisher = (e.data as EventData<'CloudUsageRecorded'>).publisher;
    t.is(publisher, `ssm:${SITE_A_DN}`, 'the signer is the provenance');
  }),
);

test.serial('a message encrypted to fedledger is decrypted, verified and ingested', (t) =>
  inWorld(async (w) => {
    w.ams.enqueue(PROJECT, SUB, await encryptSmime(await signSmime(message(), siteA), own.certificate));
    const summary = await receiveFromAms(w.h.log, w.client, await w.settings());
    t.like(summary, { ingested: 1, acknowledged: 1, records: { accepted: 1 } });
    t.deepEqual(await figures(w.h), [['SITE-A', 1, 20]]);
  }),
);

test.serial('a crash before the acknowledgement: AMS delivers again, and nothing is counted twice', (t) =>
  inWorld(async (w) => {
    w.ams.enqueue(PROJECT, SUB, await signSmime(message(), siteA));
    w.ams.enqueue(PROJECT, SUB, await signSmime(message('SITE-B', 'vm-ams-2'), siteB));
    const crashing = Object.create(w.client) as AmsClient;
    crashing.acknowledge = () => Promise.reject(new Error('killed before acknowledging'));
    await t.throwsAsync(receiveFromAms(w.h.log, crashing, await w.settings()), { message: /killed/ });
    t.is(w.ams.offset(PROJECT, SUB), 0, 'nothing acknowledged');
    const eventsAfterCrash = await w.h.log.headPosition();

    const again = await receiveFromAms(w.h.log, w.client, await w.settings());
    t.like(again, { pulled: 2, ingested: 2, acknowledged: 2, records: { accepted: 0, unchanged: 2 } });
    t.is(w.ams.offset(PROJECT, SUB), 2);
    t.is(await w.h.log.headPosition(), eventsAfterCrash, 'the redelivery appended nothing');
    t.deepEqual(await figures(w.h), [
      ['SITE-A', 1, 20],
      ['SITE-B', 1, 20],
    ]);
  }),
);

test.serial('rejected: a signature that does not verify against the trusted CAs (with the DN it claims)', (t) =>
  inWorld(async (w) => {
    const rogue = pki.issueUntrusted('rogue-a', SITE_A_DN);
    w.ams.enqueue(PROJECT, SUB, await signSmime(message(), rogue));
    const tampered = (await signSmime(message(), siteA)).replace('WallDuration: 36000', 'WallDuration: 99000');
    w.ams.enqueue(PROJECT, SUB, tampered);
    const summary = await receiveFromAms(w.h.log, w.client, await w.settings());
    t.like(summary, { ingested: 0, acknowledged: 2, rejected: { 'bad-signature': 2 } });
    const [untrusted, altered] = await rejections(w.h.log);
    t.is(untrusted!.errors[0]!.code, 'AMS_BAD_SIGNATURE');
    t.regex(untrusted!.errors[0]!.reason, /does not verify.*claims to be signed by \/DC=org\/DC=example\/O=Site A/);
    t.regex(untrusted!.errors[0]!.reason, /unable to get local issuer certificate/);
    t.is(altered!.errors[0]!.code, 'AMS_BAD_SIGNATURE');
    t.is(untrusted!.publisher, 'ssm:unverified');
    t.deepEqual(await figures(w.h), []);
  }),
);

test.serial('rejected: a signer whose DN is no HOSTDN in GOCDB nor configured', (t) =>
  inWorld(async (w) => {
    const stranger = pki.issue('stranger', '/DC=org/DC=example/CN=somewhere.else.example.org');
    w.ams.enqueue(PROJECT, SUB, await signSmime(message(), stranger));
    const summary = await receiveFromAms(w.h.log, w.client, await w.settings());
    t.like(summary, { ingested: 0, acknowledged: 1, rejected: { 'unknown-signer': 1 } });
    const [r] = await rejections(w.h.log);
    t.is(r!.errors[0]!.code, 'AMS_UNKNOWN_SIGNER');
    t.is(r!.publisher, 'ssm:/DC=org/DC=example/CN=somewhere.else.example.org');
    t.regex(r!.errors[0]!.reason, /signer \/DC=org\/DC=example\/CN=somewhere\.else\.example\.org is not the HOSTDN/);
    t.regex(r!.recordExcerpt, /^APEL-cloud-message: v0\.4\nVMUUID: vm-ams-1/, 'the verified content is kept');

    // Once configured as a signer for SITE-A, the same message would be accepted.
    const configured = { ...(await w.settings()), signerSites: signerSites([], { [stranger.dn]: ['SITE-A'] }) };
    w.ams.enqueue(PROJECT, SUB, await signSmime(message(), stranger));
    t.like(await receiveFromAms(w.h.log, w.client, configured), { ingested: 1, records: { accepted: 1 } });
  }),
);

test.serial("rejected: a record for a site the signer's DN may not publish for", (t) =>
  inWorld(async (w) => {
    w.ams.enqueue(PROJECT, SUB, await signSmime(message('SITE-B'), siteA));
    const summary = await receiveFromAms(w.h.log, w.client, await w.settings());
    t.like(summary, { ingested: 0, acknowledged: 1, rejected: { 'wrong-site': 1 } });
    const [r] = await rejections(w.h.log);
    t.is(r!.errors[0]!.code, 'AMS_WRONG_SITE');
    t.is(r!.siteName, 'SITE-B');
    t.is(r!.publisher, `ssm:${SITE_A_DN}`);
    t.regex(r!.errors[0]!.reason, /may publish for SITE-A, not for SiteName "SITE-B"/);
    t.deepEqual(await figures(w.h), []);
    for (const runner of w.h.runners.values()) await runner.catchUp();
    const listed = await w.h.gql<{
      quarantine: { edges: Array<{ node: { site: string; publisher: string; errors: Array<{ reason: string }> } }> };
    }>(
      w.h.token('staff'),
      '{ quarantine(site: "SITE-B") { edges { node { site publisher errors { reason } } } } }',
      {},
      'GET',
    );
    t.like(listed.data!.quarantine.edges[0]!.node, { site: 'SITE-B', publisher: `ssm:${SITE_A_DN}` });
  }),
);

test.serial('rejected: a message encrypted to another certificate cannot be decrypted', (t) =>
  inWorld(async (w) => {
    w.ams.enqueue(PROJECT, SUB, await encryptSmime(await signSmime(message(), siteA), siteB.certificate));
    const summary = await receiveFromAms(w.h.log, w.client, await w.settings());
    t.like(summary, { ingested: 0, acknowledged: 1, rejected: { undecryptable: 1 } });
    const [r] = await rejections(w.h.log);
    t.is(r!.errors[0]!.code, 'AMS_UNDECRYPTABLE');
    t.regex(r!.errors[0]!.reason, /cannot decrypt it/);
  }),
);

test('signers: the latest registration of an endpoint counts, configured DNs are added', (t) => {
  const ep = (hostDn: string | undefined) => ({
    siteName: 'SITE-A',
    hostname: 'h',
    service: 's',
    ...(hostDn ? { hostDn } : {}),
  });
  const sites = signerSites([ep('/CN=old'), ep('/CN=new'), { ...ep('/CN=new'), siteName: 'SITE-C' }], {
    '/CN=new': ['SITE-B'],
  });
  t.false(sites.has('/CN=old'));
  t.deepEqual([...sites.get('/CN=new')!].sort(), ['SITE-A', 'SITE-B', 'SITE-C']);
});

test("GOCDB's HOSTDN is kept on the endpoint's registration, and omitted when absent", (t) => {
  const doc = (hostDn: string) => `<?xml version="1.0" encoding="UTF-8"?>
<results>
  <SERVICE_ENDPOINT PRIMARY_KEY="1G0">
    <PRIMARY_KEY>1G0</PRIMARY_KEY>
    <HOSTNAME>cloud.site-a.example.org</HOSTNAME>
    <SERVICE_TYPE>org.openstack.nova</SERVICE_TYPE>
    <HOSTDN>${hostDn}</HOSTDN>
    <IN_PRODUCTION>Y</IN_PRODUCTION>
    <NODE_MONITORED>Y</NODE_MONITORED>
    <SITENAME>SITE-A</SITENAME>
  </SERVICE_ENDPOINT>
</results>`;
  t.is(parseGocdb(doc(SITE_A_DN), 'test').endpoints[0]!.hostDn, SITE_A_DN);
  t.false('hostDn' in parseGocdb(doc(''), 'test').endpoints[0]!);
});

test("a signer's DN is in GOCDB's slash form, its values as written (a comma is not escaped)", async (t) => {
  const dn = '/C=ES/O=Consejo Superior de Investigaciones Cientificas, CSIC/CN=api.cloud.example.es';
  const signer = pki.issue('comma', dn);
  const verified = await verifySmime(await signSmime('APEL-cloud-message: v0.4\n', signer), pki.trustedCaDir);
  t.is(verified.signerDn, dn);
  t.is(slashDn(readFileSync(signer.certificate, 'utf8')), dn);
});

test.serial("with checkCrls, a signer revoked by its CA's CRL is rejected; without, it is not looked at", async (t) => {
  const crlPki = makeTestPki();
  try {
    const revoked = crlPki.issue('revoked', SITE_A_DN);
    const good = crlPki.issue('good', SITE_A_DN);
    crlPki.publishCrl([revoked]);
    const signed = await signSmime(message(), revoked);
    await t.throwsAsync(verifySmime(signed, crlPki.trustedCaDir, { checkCrls: true }), {
      message: /certificate revoked/,
    });
    t.is((await verifySmime(signed, crlPki.trustedCaDir)).signerDn, SITE_A_DN);
    t.is(
      (await verifySmime(await signSmime(message(), good), crlPki.trustedCaDir, { checkCrls: true })).signerDn,
      SITE_A_DN,
    );
  } finally {
    crlPki.cleanup();
  }
});

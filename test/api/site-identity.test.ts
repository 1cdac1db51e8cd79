/**
 * A VM's identity includes its site (issue 26 item 2): a site's ingest token
 * pushing another site's VMUUID over HTTP gets a VM of its own, flagged, and
 * its site token reaches no field of the other site's records by any path.
 */
import test from 'ava';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
test.before(async () => {
  h = await startHarness({ seed: false });
});
test.after.always(async () => {
  await h?.close();
});

const SHARED = '3c9e1f0a-7b2d-4e6f-9a1c-5d8b2e4f6a70';
const jan = Date.UTC(2026, 0, 1) / 1000;
const DAY = 86_400;
const rec = (fields: Record<string, string | number>) =>
  Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
const message = (...records: string[]) => `APEL-cloud-message: v0.4\n${records.map((r) => `${r}\n%%\n`).join('')}`;
/** What only IFCA-LCG2's records hold: none of it may reach CESNET-MCC's token. */
const IFCA_ONLY = /IFCA|irisgrid|ifca\.only|img-ifca|\b(4445[1-4]|36000|108000|18000)\b/i;
const ifca = (fields: Record<string, string | number>) =>
  rec({
    SiteName: 'IFCA-LCG2',
    GlobalUserName: '/DC=es/DC=irisgrid/O=ifca/CN=Only Here',
    FQAN: '/ifca.only/Role=NULL',
    ImageId: 'img-ifca-7',
    Status: 'started',
    StartTime: jan,
    CpuCount: 2,
    ...fields,
  });

const push = (token: string, text: string) =>
  fetch(`${h.url}/v1/apel/cloud`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
    body: text,
  });
const catchUp = async () => {
  for (const r of h.runners.values()) await r.catchUp();
};

type Figures = { vms: string; wallHours: number };
async function bySite(): Promise<Record<string, Figures>> {
  const r = await h.gql<{ accountingSummary: { rows: Array<{ key: { site: string }; figures: Figures }> } }>(
    h.token('staff'),
    '{ accountingSummary(groupBy: [site]) { rows { key { site } figures { vms wallHours } } } }',
  );
  return Object.fromEntries(r.data!.accountingSummary.rows.map((row) => [row.key.site, row.figures]));
}

test("another site's VMUUID pushed by a site token: both sites keep their VMs and figures, it is flagged, and no IFCA field reaches CESNET", async (t) => {
  const ifcaIngest = h.token('ingest', 'IFCA-LCG2');
  const ifcaPush = await push(
    ifcaIngest,
    message(
      ifca({ VMUUID: SHARED, WallDuration: 10 * 3600, CpuDuration: 44451, RecordCreateTime: jan + 10 * DAY }),
      ifca({ VMUUID: SHARED, WallDuration: 30 * 3600, CpuDuration: 44452, RecordCreateTime: jan + 35 * DAY }),
      ifca({ VMUUID: 'vm-ifca-2', WallDuration: 5 * 3600, CpuDuration: 44453, RecordCreateTime: jan + 40 * DAY }),
    ),
  );
  t.is(ifcaPush.status, 200);
  // Staff ingests a batch of several sites' records: CESNET-MCC's one is bad and quarantined, beside IFCA's.
  const staffPush = await push(
    h.token('staff'),
    message(
      ifca({ VMUUID: 'vm-ifca-3', WallDuration: 3600, CpuDuration: 44454, RecordCreateTime: jan + 41 * DAY }),
      rec({ VMUUID: 'vm-cz-bad', SiteName: 'CESNET-MCC', WallDuration: 'soon' }),
    ),
  );
  t.is(staffPush.status, 200);
  await catchUp();
  const before = await bySite();
  t.deepEqual(before['IFCA-LCG2'], { vms: '4', wallHours: 36 });

  const attack = await push(
    h.token('ingest', 'CESNET-MCC'),
    message(
      rec({
        VMUUID: SHARED,
        SiteName: 'CESNET-MCC',
        GlobalUserName: '/DC=cz/DC=cesnet/CN=Somebody',
        FQAN: '/cz.vo/Role=NULL',
        Status: 'started',
        StartTime: jan + 32 * DAY,
        WallDuration: 1800,
        CpuDuration: 900,
        CpuCount: 1,
        RecordCreateTime: jan + 36 * DAY,
      }),
    ),
  );
  t.is(attack.status, 200);
  t.like(await attack.json(), { accepted: 1, rejected: 0 });
  await catchUp();

  const after = await bySite();
  t.deepEqual(after['IFCA-LCG2'], before['IFCA-LCG2'], 'IFCA-LCG2 keeps its VM-months and wall hours');
  t.deepEqual(after['CESNET-MCC'], { vms: '1', wallHours: 0.5 }, 'CESNET-MCC has a VM-month of its own');

  const cesnet = h.token('site', 'CESNET-MCC');
  const warnings = await h.gql<{
    qualityWarnings: Array<{ kind: string; site: string; vmUuid: string; month: string }>;
  }>(cesnet, '{ qualityWarnings { kind site vmUuid month eventId detail } }');
  t.deepEqual(
    warnings.data!.qualityWarnings.map((w) => [w.kind, w.site, w.vmUuid, w.month]),
    [['vmuuid_at_other_site', 'CESNET-MCC', SHARED, '2026-02']],
  );
  const ifcaWarnings = await h.gql<{ qualityWarnings: unknown[] }>(
    h.token('site', 'IFCA-LCG2'),
    '{ qualityWarnings { kind } }',
  );
  t.deepEqual(ifcaWarnings.data!.qualityWarnings, [], "the first site's VM is not the one flagged");

  // Every path that returns records, asked with CESNET-MCC's token.
  const vmMonthFields = `vmUuid month site service user vo voGroup voRole status image cloudType cpuCount memoryMb diskGb
    startTime endTime receivedAt cumulative { wallSeconds cpuSeconds networkInGb networkOutGb }
    monthly { wallSeconds cpuSeconds networkInGb networkOutGb }
    records { eventId position kept receivedAt publisher sourceMessageId recordIndex messageVersion record }
    warnings { kind site vmUuid month eventId detail }`;
  const answers = {
    vmMonths: await h.gql<{
      vmMonths: { edges: Array<{ node: { records: unknown[]; monthly: { wallSeconds: string } } }> };
    }>(cesnet, `{ vmMonths { edges { node { ${vmMonthFields} } } } }`),
    drillDown: await h.gql(
      cesnet,
      `{ accountingSummary(groupBy: [site, month, vo, user]) { total { vms wallHours cpuHours }
         rows { key { site month vo user } figures { vms wallHours cpuHours } vmMonths { edges { node { ${vmMonthFields} } } } } } }`,
    ),
    history: await h.gql<{ vmHistory: Array<{ data: string }> }>(
      cesnet,
      `{ vmHistory(vmUuid: "${SHARED}") { position revision type created data } }`,
    ),
    quarantine: await h.gql<{ quarantine: { edges: Array<{ node: { sourceMessageId: string } }> } }>(
      cesnet,
      '{ quarantine(includeResolved: true) { edges { node { sourceMessageId recordIndex line site recordText errors { reason } publisher } } } }',
    ),
    warnings,
  };
  for (const [path, answer] of Object.entries(answers)) {
    t.is(answer.errors, undefined, path);
    t.notRegex(JSON.stringify(answer.data), IFCA_ONLY, path);
  }
  const edges = answers.vmMonths.data!.vmMonths.edges;
  t.is(edges.length, 1);
  t.is(edges[0]!.node.records.length, 1);
  t.is(edges[0]!.node.monthly.wallSeconds, '1800', "differenced against nothing, not IFCA-LCG2's January");
  t.is(answers.history.data!.vmHistory.length, 1);
  const quarantined = answers.quarantine.data!.quarantine.edges;
  t.is(quarantined.length, 1);
  const kept = await h.gql<{ quarantinedMessage: { text: string } }>(
    cesnet,
    'query ($id: String!) { quarantinedMessage(sourceMessageId: $id) { text } }',
    { id: quarantined[0]!.node.sourceMessageId },
  );
  t.is(kept.errors, undefined);
  t.notRegex(JSON.stringify(kept.data), IFCA_ONLY);
  t.regex(kept.data!.quarantinedMessage.text, /^APEL-cloud-message: v0\.4\nVMUUID: vm-cz-bad\nSiteName: CESNET-MCC\n/);

  for (const denied of [
    `{ vmHistory(vmUuid: "${SHARED}", site: "IFCA-LCG2") { data } }`,
    '{ vmHistory(vmUuid: "vm-ifca-2") { data } }',
    '{ vmMonths(filter: { sites: ["IFCA-LCG2"] }) { edges { cursor } } }',
    '{ quarantine(site: "IFCA-LCG2") { edges { cursor } } }',
  ])
    t.is((await h.gql(cesnet, denied)).errors?.[0]?.extensions?.code, 'FORBIDDEN', denied);

  // Staff sees both VMs by that VMUUID, one site's or both.
  const staff = h.token('staff');
  const both = await h.gql<{ vmHistory: Array<{ data: string }> }>(
    staff,
    `{ vmHistory(vmUuid: "${SHARED}") { data } }`,
  );
  t.deepEqual(
    both.data!.vmHistory.map((e) => (JSON.parse(e.data) as { record: { siteName: string } }).record.siteName),
    ['IFCA-LCG2', 'IFCA-LCG2', 'CESNET-MCC'],
  );
  const one = await h.gql<{ vmHistory: unknown[] }>(
    staff,
    `{ vmHistory(vmUuid: "${SHARED}", site: "IFCA-LCG2") { data } }`,
  );
  t.is(one.data!.vmHistory.length, 2);
  const staffMessage = await h.gql<{ quarantinedMessage: { text: string } }>(
    staff,
    'query ($id: String!) { quarantinedMessage(sourceMessageId: $id) { text } }',
    { id: quarantined[0]!.node.sourceMessageId },
  );
  t.regex(staffMessage.data!.quarantinedMessage.text, /vm-ifca-3/, 'staff sees the whole message');
});

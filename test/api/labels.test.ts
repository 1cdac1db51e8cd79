/** What the API's figures are called and how its instants are written. */
import test from 'ava';
// The command registry first: export-ar.ts and index.ts import each other, and the CLI always enters through index.ts.
import '../../src/cli/commands/index.ts';
import { arCsv } from '../../src/cli/commands/export-ar.ts';
import { isoInstant } from '../../src/instant.ts';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
let staff: string;
test.before(async () => {
  h = await startHarness();
  staff = h.token('staff');
});
test.after.always(() => h.close());

test('isoInstant writes every instant to the second with Z', (t) => {
  t.is(isoInstant(new Date('2026-02-05T00:00:00.000Z')), '2026-02-05T00:00:00Z');
  t.is(isoInstant('2026-02-05T10:11:12.987Z'), '2026-02-05T10:11:12Z');
  t.is(isoInstant(Date.UTC(2026, 0, 1)), '2026-01-01T00:00:00Z');
});

test('usage figures count VM-months under that name; vms stays as a deprecated alias', async (t) => {
  const r = await h.gql<{
    accountingSummary: { rows: Array<{ key: { site: string }; figures: { vmMonths: string; vms: string } }> };
    __type: { fields: Array<{ name: string; isDeprecated: boolean; deprecationReason: string | null }> };
  }>(
    staff,
    `{ accountingSummary(groupBy: [site]) { rows { key { site } figures { vmMonths vms } } }
       __type(name: "UsageFigures") { fields(includeDeprecated: true) { name isDeprecated deprecationReason } } }`,
  );
  // SITE-A: vm-1 in January and February, vm-2 in February = 3 VM-months of 2 VMs; SITE-B: vm-3 in February.
  t.deepEqual(
    r.data!.accountingSummary.rows.map((x) => [x.key.site, x.figures.vmMonths, x.figures.vms]),
    [
      ['SITE-A', '3', '3'],
      ['SITE-B', '1', '1'],
    ],
  );
  const fields = new Map(r.data!.__type.fields.map((f) => [f.name, f]));
  t.false(fields.get('vmMonths')!.isDeprecated);
  t.true(fields.get('vms')!.isDeprecated);
  t.regex(fields.get('vms')!.deprecationReason ?? '', /use vmMonths/);
});

test('the schema says A/R are percentages, up/unknown/down fractions, and how a group of sites is computed', async (t) => {
  const r = await h.gql<{ __type: { fields: Array<{ name: string; description: string | null }> } }>(
    staff,
    '{ __type(name: "ArRow") { fields { name description } } }',
  );
  const description = new Map(r.data!.__type.fields.map((f) => [f.name, f.description ?? '']));
  t.regex(description.get('availability')!, /percent \(0-100\)/);
  t.regex(description.get('availability')!, /mean of its sites' daily availabilities/);
  t.regex(description.get('reliability')!, /percent \(0-100\)/);
  for (const name of ['up', 'unknown', 'down']) t.regex(description.get(name)!, /^Fraction \(0-1\)/, name);
});

test('instants come out in one form: ISO 8601 to the second with Z', async (t) => {
  const r = await h.gql<{
    vmMonths: {
      edges: Array<{ node: { startTime: string; receivedAt: string; records: Array<{ receivedAt: string }> } }>;
    };
    quarantine: { edges: Array<{ node: { receivedAt: string } }> };
    vmHistory: Array<{ created: string }>;
  }>(
    staff,
    `{ vmMonths { edges { node { startTime receivedAt records { receivedAt } } } }
       quarantine { edges { node { receivedAt } } }
       vmHistory(vmUuid: "vm-1") { created } }`,
  );
  const d = r.data!;
  const instants = [
    ...d.vmMonths.edges.flatMap((e) => [
      e.node.startTime,
      e.node.receivedAt,
      ...e.node.records.map((x) => x.receivedAt),
    ]),
    ...d.quarantine.edges.map((q) => q.node.receivedAt),
    ...d.vmHistory.map((e) => e.created),
  ];
  t.true(instants.length > 8);
  t.deepEqual(
    instants.filter((i) => !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(i)),
    [],
  );
  t.is(d.quarantine.edges[0]!.node.receivedAt, '2026-02-05T00:00:00Z');
});

test('export ar CSV headers say availability and reliability are percentages and up/unknown/down fractions', (t) => {
  t.is(
    arCsv([]),
    'date,level,site,function,service,hostname,group,availabilityPercent,reliabilityPercent,upFraction,unknownFraction,downFraction\n',
  );
});

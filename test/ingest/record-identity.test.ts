import test from 'ava';
import { EMPTY_RECORD } from '../../src/ingest/apel-message.ts';
import type { CloudUsageRecord } from '../../src/events/catalogue.ts';
import { usageEncoder, type UsageProvenance } from '../../src/events/codec.ts';
import { prng } from '../../src/demo/federation.ts';

const TRICKY = [
  '',
  'plain',
  'say "hi"',
  'back\\slash',
  'tab\there',
  'line\nbreak',
  '\u0001',
  'caf\u00e9',
  '\u2028',
  '\ud83d\ude00',
  '\ud800 lone',
  'x\udc00',
];

const isNumeric = (key: string) =>
  key.endsWith('Time') ||
  key.endsWith('Duration') ||
  ['cpuCount', 'benchmark', 'networkInbound', 'networkOutbound', 'publicIpCount', 'memory', 'disk'].includes(key);

function randomRecord(random: () => number): CloudUsageRecord {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const text = () => (random() < 0.3 ? null : pick(TRICKY) + pick(TRICKY));
  const int = () => (random() < 0.3 ? null : Math.floor(random() * 2 ** 40));
  const decimal = () => (random() < 0.3 ? null : pick([0, 0.5, 1.25, 8, 1e21, 9_999_999.999]));
  const record = { ...EMPTY_RECORD } as Record<string, unknown>;
  for (const key of Object.keys(EMPTY_RECORD)) {
    record[key] = key === 'cpuCount' || key === 'benchmark' ? decimal() : isNumeric(key) ? int() : text();
  }
  record['vmUuid'] = pick(TRICKY) + 'vm';
  record['siteName'] = pick(TRICKY) + 'site';
  return record as CloudUsageRecord;
}

const provenance = {
  receivedAt: '2026-01-01T00:00:00.000Z',
  publisher: 'say "test"',
  sourceMessageId: 'm',
  messageVersion: 'v0.4',
};

/** The usage event of one record. */
const usageEvent = (
  record: CloudUsageRecord,
  { recordIndex, ...from }: UsageProvenance & { recordIndex: number },
  source?: 'parser',
) => usageEncoder(from, source)(record, recordIndex);

/** The same content with its keys in reverse order, as a collector might build it. */
const reordered = (r: CloudUsageRecord) =>
  Object.fromEntries(Object.entries(r).reverse()) as unknown as CloudUsageRecord;

test('the event JSON written directly is the JSON of its data, for any characters, on both paths', (t) => {
  const random = prng(7);
  const parsed = usageEncoder(provenance, 'parser');
  const collected = usageEncoder(provenance);
  for (let i = 0; i < 2000; i++) {
    const r = randomRecord(random);
    // The payload in the schema's key order, as validation gives it.
    const { receivedAt, publisher, sourceMessageId, messageVersion } = provenance;
    const data = { record: r, receivedAt, publisher, sourceMessageId, recordIndex: i + 1, messageVersion };
    for (const event of [parsed(r, i + 1), collected(reordered(r), i + 1)]) t.is(event.dataJson, JSON.stringify(data));
  }
});

test('a record gets the same id and JSON whatever order its keys come in and whichever message carries it', (t) => {
  const random = prng(11);
  for (let i = 0; i < 200; i++) {
    const r = randomRecord(random);
    const parsed = usageEvent(r, { ...provenance, recordIndex: 3 }, 'parser');
    const collected = usageEvent(reordered(r), {
      receivedAt: '2026-02-01T00:00:00.000Z',
      publisher: 'collector',
      sourceMessageId: 'run',
      messageVersion: 'collector',
      recordIndex: 9,
    });
    t.is(collected.id, parsed.id);
    const recordJson = (dataJson: string) => JSON.stringify((JSON.parse(dataJson) as { record: unknown }).record);
    t.is(recordJson(collected.dataJson), recordJson(parsed.dataJson));
  }
});

test('any change to a record’s content changes its id; its provenance does not', (t) => {
  const base = { ...EMPTY_RECORD, vmUuid: 'vm-1', siteName: 'SITE', startTime: 1_767_225_600, wallDuration: 3600 };
  const idOf = (r: CloudUsageRecord, recordIndex = 1) => usageEvent(r, { ...provenance, recordIndex }, 'parser').id;
  const ids = new Set([idOf(base), idOf(base, 2)]);
  t.is(ids.size, 1);
  for (const key of Object.keys(EMPTY_RECORD) as (keyof CloudUsageRecord)[]) {
    const value = base[key];
    const changed = isNumeric(key) ? Number(value ?? 0) + 1 : `${value ?? ''}x`;
    ids.add(idOf({ ...base, [key]: changed }));
  }
  t.is(ids.size, Object.keys(EMPTY_RECORD).length + 1);
});

test('usage event ids stay what stores already hold (re-sent records must keep deduplicating)', (t) => {
  const record: CloudUsageRecord = {
    ...EMPTY_RECORD,
    vmUuid: '6b1d9b8e-42f7-4f0e-9a57-2f3c1d0e7a11',
    siteName: 'CESGA',
    fqan: '/fedcloud.egi.eu/Role=NULL/Capability=NULL',
    vo: 'fedcloud.egi.eu',
    voGroup: '/fedcloud.egi.eu',
    voRole: 'Role=NULL',
    status: 'started',
    startTime: 1_767_225_600,
    wallDuration: 3600,
    cpuCount: 2,
  };
  t.is(usageEvent(record, { ...provenance, recordIndex: 1 }, 'parser').id, GOLDEN_ID);
});

/** Taken when ids came to hash the record's own JSON; a change here makes every stored record look new. */
const GOLDEN_ID = '019b7711-9680-793d-a241-7a080609ef7c';

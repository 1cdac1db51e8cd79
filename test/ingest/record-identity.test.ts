import test from 'ava';
import { EMPTY_RECORD } from '../../src/ingest/apel-message.ts';
import { recordIdentity, usageEvent } from '../../src/ingest/apel-service.ts';
import type { CloudUsageRecord } from '../../src/events/catalogue.ts';
import { deterministicUuid } from '../../src/events/ids.ts';
import { prng } from '../../src/demo/federation.ts';

/** What ids hashed before the identity was built directly: the JSON of [vmUuid, ...values by sorted key], as a string. */
const generic = (r: CloudUsageRecord) => {
  const keys = (Object.keys(EMPTY_RECORD) as (keyof CloudUsageRecord)[]).sort();
  return JSON.stringify([r.vmUuid, ...keys.map((k) => r[k])]);
};

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

function randomRecord(random: () => number): CloudUsageRecord {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const text = () => (random() < 0.3 ? null : pick(TRICKY) + pick(TRICKY));
  const int = () => (random() < 0.3 ? null : Math.floor(random() * 2 ** 40));
  const decimal = () => (random() < 0.3 ? null : pick([0, -0, 0.5, 1.25, 8, 1e21, 9_999_999.999, Infinity]));
  const record = { ...EMPTY_RECORD } as Record<string, unknown>;
  for (const [key, empty] of Object.entries(EMPTY_RECORD)) {
    if (key === 'cpuCount' || key === 'benchmark') record[key] = decimal();
    else if (typeof empty === 'number' || empty === null)
      record[key] =
        key.endsWith('Time') ||
        key.endsWith('Duration') ||
        ['networkInbound', 'networkOutbound', 'publicIpCount', 'memory', 'disk'].includes(key)
          ? int()
          : text();
  }
  record['vmUuid'] = pick(TRICKY) + 'vm';
  record['siteName'] = pick(TRICKY) + 'site';
  return record as CloudUsageRecord;
}

test('the identity built directly is the text the generic canonical form gives, for any characters', (t) => {
  const random = prng(7);
  for (let i = 0; i < 2000; i++) {
    const r = randomRecord(random);
    t.is(recordIdentity(r).text, JSON.stringify(generic(r)));
  }
});

test('usage event ids are what they were before the identity was built directly', (t) => {
  const random = prng(11);
  const meta = {
    receivedAt: '2026-01-01T00:00:00.000Z',
    publisher: 'test',
    sourceMessageId: 'm',
    recordIndex: 1,
    messageVersion: 'v0.4',
  };
  for (let i = 0; i < 200; i++) {
    const r = randomRecord(random);
    const event = usageEvent(r, meta, 'parser');
    const timeMs =
      1000 *
      (r.recordCreateTime ?? (r.endTime || (r.startTime ?? 0) + (r.suspendDuration ?? 0) + (r.wallDuration ?? 0)));
    t.is(event.id, deterministicUuid(['CloudUsageRecorded', generic(r)], { timeMs }));
  }
});

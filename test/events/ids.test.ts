import test from 'ava';
import { canonicalJson, deterministicUuid } from '../../src/events/ids.ts';

// Ids are how a re-sent record is recognised: the ones earlier builds stored must come out of this build unchanged.
// These were computed by the build before canonicalJson concatenated arrays instead of mapping and joining them.
test('ids of each layout are the ones earlier builds derived', (t) => {
  t.is(
    deterministicUuid(['CloudUsageRecorded', { b: [1, 'x', null, 2.5], a: 'é"' }]),
    '830d38fd-b5dc-593a-93b7-08adb090003f',
  );
  t.is(
    deterministicUuid(['ProbeResultRecorded', 'h', 's', 1], { timeMs: 1767225600000 }),
    '019b76da-a800-78b8-a940-5c54d8d081bf',
  );
  t.is(
    deterministicUuid([['nested', []], {}], { timeMs: 1767225600000, place: 'host.example.org/org.openstack.nova' }),
    '41516955-b900-85f0-87c9-666d3d8575d5',
  );
});

test('canonical JSON sorts keys at every depth and drops undefined members', (t) => {
  t.is(canonicalJson({ b: [{ d: 1, c: undefined, a: null }], a: 'x' }), '{"a":"x","b":[{"a":null,"d":1}]}');
  t.is(canonicalJson([]), '[]');
  t.is(canonicalJson([1, [2, []], 'three']), '[1,[2,[]],"three"]');
});

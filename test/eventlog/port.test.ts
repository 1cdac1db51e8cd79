import test from 'ava';
import { metadataJson } from '../../src/eventlog/port.ts';

test('metadata text is remembered for frozen objects only, so a changed mutable one is written as it is now', (t) => {
  const shared = Object.freeze({ schemaVersion: 1 });
  t.is(metadataJson(shared), '{"schemaVersion":1}');
  t.is(metadataJson(shared), '{"schemaVersion":1}');
  const mutable: Record<string, number> = { schemaVersion: 1 };
  t.is(metadataJson(mutable), '{"schemaVersion":1}');
  mutable['schemaVersion'] = 2;
  t.is(metadataJson(mutable), '{"schemaVersion":2}');
});

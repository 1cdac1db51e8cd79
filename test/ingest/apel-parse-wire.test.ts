import test from 'ava';
import { joined, split } from '../../src/ingest/apel-parse-wire.ts';

test('strings joined for the parser thread come back as they were, empty ones and none included', (t) => {
  for (const strings of [[], [''], ['vm-a', '', 'quarantine-0123456789abcdef', 'é\n%%'], ['x'.repeat(5000), 'y']])
    t.deepEqual(split(joined(strings)), strings);
});

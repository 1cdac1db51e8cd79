import test from 'ava';
import { fuzzBadInput } from '../../scripts/reliability/bad-input.ts';

// A fixed seed keeps the suite deterministic; `npm run test:fuzz` tries many more inputs from other seeds.
test('fuzzed APEL messages, probe lines, GOCDB documents and GraphQL requests violate no invariant', async (t) => {
  const outcome = await fuzzBadInput({ seed: 19, runs: 100 });
  t.log(`inputs tried: ${outcome.tried}, violations: ${outcome.violations.length}`);
  t.true(outcome.tried > 100 * 5);
  t.deepEqual(outcome.violations, []);
});

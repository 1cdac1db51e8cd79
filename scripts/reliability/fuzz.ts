/**
 * `npm run test:fuzz [-- --runs 2000 --seed 1]`: the bad-input properties of bad-input.ts with a large count.
 * Prints the inputs tried and the violations (each with the seed and path that replay it); exits 1 on any.
 */
import { fuzzBadInput } from './bad-input.ts';
import { numberArg } from '../bench/harness.ts';

const seed = numberArg('seed', Date.now() % 2 ** 31);
const runs = numberArg('runs', 2000);
const started = Date.now();
const outcome = await fuzzBadInput({ seed, runs });
for (const v of outcome.violations) console.log(`violation: ${v}`);
console.log(
  `seed ${seed}, ${runs} runs per property: inputs tried: ${outcome.tried}, violations: ${outcome.violations.length} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
);
process.exitCode = outcome.violations.length === 0 ? 0 : 1;

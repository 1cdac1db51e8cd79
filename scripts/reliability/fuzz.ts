/**
 * `npm run test:fuzz [-- --runs 2000 --seed 1]`: the bad-input properties of bad-input.ts with a large count.
 * Prints the inputs tried and the violations (each with the seed and path that replay it); exits 1 on any.
 */
import { fuzzBadInput } from './bad-input.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const seed = arg('seed', Date.now() % 2 ** 31);
const runs = arg('runs', 2000);
const started = Date.now();
const outcome = await fuzzBadInput({ seed, runs });
for (const v of outcome.violations) console.log(`violation: ${v}`);
console.log(
  `seed ${seed}, ${runs} runs per property: inputs tried: ${outcome.tried}, violations: ${outcome.violations.length} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
);
process.exitCode = outcome.violations.length === 0 ? 0 : 1;

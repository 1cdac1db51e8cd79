/**
 * Tiny benchmark helpers: time a piece of work, print its rate beside a
 * baseline measured in the same process, track peak memory, and run a
 * configuration in a fresh process.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
export interface Measured {
  label: string;
  count: number;
  seconds: number;
}

/**
 * Times `work`. The heap is collected first where the script runs with --expose-gc (the npm scripts do), so a
 * stage does not pay for the garbage of the one before it, as a CLI command would not.
 */
export async function measure(label: string, count: number, work: () => unknown | Promise<unknown>): Promise<Measured> {
  (globalThis as { gc?: () => void }).gc?.();
  const started = process.hrtime.bigint();
  await work();
  return { label, count, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

export const rate = (m: Measured) => m.count / m.seconds;

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);
sampler.unref();

export function peakRssMiB(): number {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  return Math.round(peakRss / 2 ** 20);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Prints `subject` against `baseline` with the ratio subject/baseline. */
export function report(subject: Measured, baseline: Measured): void {
  const ratio = rate(subject) / rate(baseline);
  console.log(
    `${subject.label.padEnd(44)} ${fmt(rate(subject)).padStart(11)} /s   baseline ${baseline.label.padEnd(34)} ${fmt(rate(baseline)).padStart(11)} /s   ratio ${ratio.toFixed(2)}`,
  );
}

/**
 * Runs this benchmark script again in a fresh process with extra arguments, passing its output through, and
 * returns that output: a configuration measured there starts from a clean heap and page cache, as a CLI run does,
 * not from what the stages before it left behind.
 */
export function runFresh(script: string, args: readonly string[]): string {
  const run = spawnSync(process.execPath, [...process.execArgv, script, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  process.stdout.write(run.stdout);
  if (run.status !== 0) throw new Error(`${path.basename(script)} ${args.join(' ')} exited with ${run.status}`);
  return run.stdout;
}

/** A numeric command-line option `--name N`, or `fallback` when absent. */
export const numberArg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

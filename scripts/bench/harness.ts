/**
 * Tiny benchmark helpers: time a piece of work, print its rate beside a
 * baseline measured in the same process, and track peak memory.
 */
export interface Measured {
  label: string;
  count: number;
  seconds: number;
}

export async function measure(label: string, count: number, work: () => unknown | Promise<unknown>): Promise<Measured> {
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

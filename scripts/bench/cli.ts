/**
 * The CLI as an operator runs it, whole processes through bin/fedledger.js (the build in dist/):
 * - startup: `fedledger --help`, median of 20, beside `node -e 0` (target <= 150 ms and <= 2.5x bare node);
 * - an SSM directory: a seeded cASO federation over 8 months across a year end (about 4,500 messages, 100,000
 *   records, VMs reporting every 6.5 hours, some messages republished), `ingest apel DIR` then
 *   `export apel-summaries` as two processes on a fresh data directory, beside a raw better-sqlite3 insert of the
 *   same records (target <= 2.5 s);
 * - a small load: the first 1,000 of those messages, the same two processes (target <= 0.6 s).
 * Run: npm run bench:cli
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DateTime } from 'luxon';
import type { IncomingMessage } from '../../src/ingest/ingest-many.ts';
import { casoMessages, rawInsert } from './caso-federation.ts';

const BIN = path.resolve('bin/fedledger.js');
const START = DateTime.utc(2025, 9, 1);
const END = DateTime.utc(2026, 5, 1);
/** One message in this many is sent twice, as a sender retrying after a lost acknowledgement does. */
const REPUBLISH_EVERY = 50;

function timed(command: string, args: readonly string[]): number {
  const started = process.hrtime.bigint();
  const run = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${run.status}: ${run.stderr}`);
  return seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (s: number) => `${Math.round(s * 1000)} ms`;

timed(process.execPath, [BIN, '--version']); // refuses a stale build before anything is measured
const bare: number[] = [];
const help: number[] = [];
for (let i = 0; i < 20; i++) {
  bare.push(timed(process.execPath, ['-e', '0']));
  help.push(timed(process.execPath, [BIN, '--help']));
}
console.log(
  `fedledger CLI benchmark (${os.cpus().length} cores, node ${process.version})\n` +
    `startup: fedledger --help ${ms(median(help))} (median of 20), node -e 0 ${ms(median(bare))}, ratio ${(median(help) / median(bare)).toFixed(2)} (target <= 150 ms, <= 2.5)`,
);

const { vms, list, records } = casoMessages({
  seed: 20250901,
  records: 100_000,
  sites: 5,
  vos: 12,
  step: 6.5 * 3600,
  start: START.toSeconds(),
  end: END.toSeconds(),
});
const dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-bench-cli-'));

/** An SSM sender's outgoing directory: one file per message, in the order sent; republished ones again later. */
function outgoing(name: string, messages: readonly IncomingMessage[]): { dir: string; files: number } {
  const out = path.join(dir, name);
  mkdirSync(out);
  let n = 0;
  const write = (m: IncomingMessage) => writeFileSync(path.join(out, `${String(n++).padStart(8, '0')}.msg`), m.text);
  messages.forEach((m, i) => {
    write(m);
    if (i % REPUBLISH_EVERY === REPUBLISH_EVERY - 1) write(messages[i - 1]!);
  });
  return { dir: out, files: n };
}

function ingestAndExport(name: string, messages: readonly IncomingMessage[]) {
  const queue = outgoing(name, messages);
  const dataDir = path.join(dir, `${name}-data`);
  const ingest = timed(process.execPath, [BIN, '--data-dir', dataDir, 'ingest', 'apel', queue.dir]);
  const exported = timed(process.execPath, [
    BIN,
    ...['--data-dir', dataDir, 'export', 'apel-summaries', '--from', START.toFormat('yyyy-MM'), '--to', '2026-04'],
  ]);
  return { files: queue.files, ingest, exported, total: ingest + exported };
}

const baseline = await rawInsert(list, dir);
const whole = ingestAndExport('ssm', list);
console.log(
  `SSM directory: ${whole.files} messages (${vms} VMs, ${records.toLocaleString('en-US')} records, ${START.toISODate()} to ${END.toISODate()}): ` +
    `ingest ${whole.ingest.toFixed(2)} s + export ${whole.exported.toFixed(2)} s = ${whole.total.toFixed(2)} s; ` +
    `raw better-sqlite3 insert ${baseline.seconds.toFixed(2)} s, ratio ${(whole.total / baseline.seconds).toFixed(1)} (target <= 2.5 s)`,
);
const small = ingestAndExport('small', list.slice(0, 1000));
console.log(
  `small load: ${small.files} messages: ingest ${small.ingest.toFixed(2)} s + export ${small.exported.toFixed(2)} s = ${small.total.toFixed(2)} s (target <= 0.6 s)`,
);
rmSync(dir, { recursive: true, force: true });

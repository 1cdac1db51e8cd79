#!/usr/bin/env node
// The `fedledger` command: the compiled CLI in dist/ (`npm run build`, which `npm install` runs in a checkout).
import { spawn } from 'node:child_process';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { unfitBuild } from './build-freshness.js';

// Bulk commands keep a batch's parsed records, events and promises alive across a few scavenges; in V8's default
// 16 MiB young generation they are promoted and left to full collections (a quarter of ingest's CPU in
// bench:accounting). They run with 64 MiB. `serve` keeps the default: larger scavenges lengthened its tail latency
// (bench:api p99 36 ms with the default, 62 ms with 64 MiB). The flag only works at start, hence the relaunch.
const BULK_COMMANDS = new Set(['ingest', 'project']);
const YOUNG_GENERATION = '--max-semi-space-size=64';

const unfit = unfitBuild(fileURLToPath(new URL('..', import.meta.url)));
if (unfit) {
  process.stderr.write(`fedledger: ${unfit}\n`);
  process.exit(1);
}

const args = process.argv.slice(2);
const relaunched = process.execArgv.includes(YOUNG_GENERATION);
if (args.some((a) => BULK_COMMANDS.has(a)) && !relaunched) {
  // The IPC channel is how the child learns that this process is gone, even when killed with SIGKILL.
  const child = spawn(
    process.execPath,
    [...process.execArgv, YOUNG_GENERATION, fileURLToPath(import.meta.url), ...args],
    {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    },
  );
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  if (relaunched && process.channel) {
    // Work whose parent died has nobody to report to; a kill of the command must end all of it.
    process.channel.unref();
    process.on('disconnect', () => process.exit(1));
  }
  const { main } = await import('../dist/src/cli.js');
  process.exitCode = await main(args);
}

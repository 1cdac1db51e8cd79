#!/usr/bin/env node
// The `fedledger` command: the compiled CLI in dist/ (`npm run build`, which `npm install` runs in a checkout).
import { spawn } from 'node:child_process';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { unfitBuild } from './build-freshness.js';
import { needsYoungGeneration } from './young-generation.js';

// Bulk commands keep a batch's parsed records, events and promises alive across a few scavenges; in V8's default
// 16 MiB young generation they are promoted and left to full collections (a quarter of ingest's CPU in
// bench:accounting). They run with 64 MiB. `serve` keeps the default: larger scavenges lengthened its tail latency
// (bench:api p99 36 ms with the default, 62 ms with 64 MiB). The flag only works at start, hence the relaunch.
// Which commands need it, and why a small ingest does not: young-generation.js.
const YOUNG_GENERATION = '--max-semi-space-size=64';

const unfit = unfitBuild(fileURLToPath(new URL('..', import.meta.url)));
if (unfit) {
  process.stderr.write(`fedledger: ${unfit}\n`);
  process.exit(1);
}

const args = process.argv.slice(2);
// Set in the relaunched child only: it has an IPC channel to this process.
const CHILD_MARK = 'FEDLEDGER_RELAUNCHED';
if (!process.execArgv.includes(YOUNG_GENERATION) && needsYoungGeneration(args)) {
  // The IPC channel is how the child learns that this process is gone, even when killed with SIGKILL.
  const child = spawn(
    process.execPath,
    [...process.execArgv, YOUNG_GENERATION, fileURLToPath(import.meta.url), ...args],
    {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, [CHILD_MARK]: '1' },
    },
  );
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  if (process.env[CHILD_MARK]) {
    delete process.env[CHILD_MARK];
    // The command was killed: its work ends the same way (no exit handlers: they could wait on a blocked read).
    const killed = () => process.kill(process.pid, 'SIGKILL');
    // A parent gone while this process started has closed the channel already.
    if (!process.channel) killed();
    process.channel.unref();
    process.on('disconnect', killed);
  }
  const { main } = await import('../dist/src/cli.js');
  process.exitCode = await main(args);
}

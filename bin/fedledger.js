#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so a checkout works without a build step.
import { spawn } from 'node:child_process';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// Bulk commands keep a batch's parsed records, events and promises alive across a few scavenges; in V8's default
// 16 MiB young generation they are promoted and left to full collections (a quarter of ingest's CPU in
// bench:accounting). They run with 64 MiB. `serve` keeps the default: larger scavenges lengthened its tail latency
// (bench:api p99 36 ms with the default, 62 ms with 64 MiB). The flag only works at start, hence the relaunch.
const BULK_COMMANDS = new Set(['ingest', 'project']);
const YOUNG_GENERATION = '--max-semi-space-size=64';

const args = process.argv.slice(2);
if (args.some((a) => BULK_COMMANDS.has(a)) && !process.execArgv.includes(YOUNG_GENERATION)) {
  const child = spawn(
    process.execPath,
    [...process.execArgv, YOUNG_GENERATION, fileURLToPath(import.meta.url), ...args],
    {
      stdio: 'inherit',
    },
  );
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  register();
  await import('../src/cli.ts');
}

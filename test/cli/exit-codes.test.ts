import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../support/tmp.ts';

function fedledger(...args: string[]) {
  const run = spawnSync(process.execPath, ['bin/fedledger.js', ...args], { encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

test('--help on the program and on a command exits 0', (t) => {
  const top = fedledger('--help');
  t.is(top.code, 0);
  t.regex(top.stdout, /Usage: fedledger/);
  const sub = fedledger('project', '--help');
  t.is(sub.code, 0);
  t.regex(sub.stdout, /--rebuild/);
});

test('a user error exits 1 with a one-line message carrying its code', (t) => {
  const tmp = tempDir();
  const run = fedledger('--data-dir', tmp.dir, 'project', 'no-such-projection');
  t.is(run.code, 1);
  t.is(run.stderr.trim().split('\n').length, 1);
  t.regex(run.stderr, /no projection named no-such-projection \[UNKNOWN_PROJECTION\]/);
  t.is(fedledger('no-such-command').code, 1);
  tmp.cleanup();
});

test('a corrupt event store is a user error naming the file and what to do, exit 1', (t) => {
  const tmp = tempDir();
  mkdirSync(tmp.dir, { recursive: true });
  const file = path.join(tmp.dir, 'events.sqlite');
  writeFileSync(file, 'this is not a database, just text long enough to be read as one');
  const run = fedledger('--data-dir', tmp.dir, 'project');
  t.is(run.code, 1);
  t.is(run.stderr.trim().split('\n').length, 1, run.stderr);
  t.true(run.stderr.startsWith(`fedledger: ${file} is damaged (file is not a database): restore it from a backup`));
  t.regex(run.stderr, /\[FILE_CORRUPT\]$/m);
  tmp.cleanup();
});

test('an ingest that rejected some input exits 3, with the same output as one that did not', (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const bad = fedledger('--data-dir', tmp.dir, 'ingest', 'apel', '--format', 'json', 'fixtures/apel/mixed-bad.msg');
  t.is(bad.code, 3, bad.stderr);
  const outcome = JSON.parse(bad.stdout) as { accepted: number; rejected: number };
  t.true(outcome.accepted > 0 && outcome.rejected > 0);
  t.is(fedledger('--data-dir', tmp.dir, 'ingest', 'apel', 'fixtures/apel/caso-2025-12.msg').code, 0);

  const probes = path.join(tmp.dir, 'probes.jsonl');
  const good = readFileSync('fixtures/demo/probes/results.jsonl', 'utf8').split('\n', 1)[0]!;
  writeFileSync(probes, `${good}\n{"timestamp": "not a time"}\n`);
  const run = fedledger('--data-dir', tmp.dir, 'ingest', 'probes', probes);
  t.is(run.code, 3, run.stderr);
  t.regex(run.stdout, /1 accepted, 0 unchanged, 1 rejected/);
  writeFileSync(probes, `${good}\n`);
  t.is(fedledger('--data-dir', tmp.dir, 'ingest', 'probes', probes).code, 0);
  t.regex(fedledger('--help').stdout, /Exit codes: 0 done; 1 user error; 2 internal error; 3 done, but some input/);
});

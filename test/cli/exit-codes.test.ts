import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
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

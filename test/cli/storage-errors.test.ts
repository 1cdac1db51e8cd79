/**
 * A damaged, read-only or full data directory is a user error naming the
 * file and what to do (exit 1), and `fedledger check` finds damage anywhere.
 */
import test from 'ava';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { explainStorageFailure } from '../../src/cli/data-files.ts';
import { UserError } from '../../src/errors.ts';
import { fedledgerIn } from '../support/cli.ts';
import { seededDataDir } from '../support/seeded.ts';
import { tempDir } from '../support/tmp.ts';

/** Overwrites the middle of a file with text, as a bad disk or a stray write would. */
function scribble(file: string): void {
  const size = statSync(file).size;
  const bytes = readFileSync(file);
  Buffer.from('garbage'.repeat(Math.ceil(size / 14))).copy(bytes, Math.floor(size / 4));
  writeFileSync(file, bytes.subarray(0, size));
}

/** The monthly summaries as `export summaries` gives them, failing the test's command if it fails. */
function summaries(dir: string): string {
  const run = fedledgerIn(dir, ['export', 'summaries', '--format', 'json']);
  if (run.code !== 0) throw new Error(`export summaries: ${run.stderr}`);
  return run.stdout;
}

/** Gives the owner write access again to `dir` and everything in it. */
function writable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, name);
    chmodSync(p, statSync(p).isDirectory() ? 0o755 : 0o644);
  }
}

test('a damaged read model is set aside and rebuilt from the event log by export, with a warning; no figure lost', async (t) => {
  const dir = await seededDataDir(t);
  const before = summaries(dir);
  const readModel = path.join(dir, 'projections', 'accounting.sqlite');
  scribble(readModel);
  const run = fedledgerIn(dir, ['export', 'summaries', '--format', 'json']);
  t.is(run.code, 0, run.stderr);
  t.is(run.stdout, before);
  const warning =
    /^warning: read model (.*) is damaged \(.*\): moved to (.*\.damaged-\d{8}T\d{6}), rebuilding it from the event log$/m.exec(
      run.stderr,
    );
  t.truthy(warning, run.stderr);
  t.is(warning![1], readModel);
  t.true(existsSync(warning![2]!), 'the damaged file is kept for inspection');
  t.is(fedledgerIn(dir, ['check']).code, 0);
});

test('a damaged event log: commands refuse with FILE_CORRUPT and what to do, and leave the file as it was', async (t) => {
  const dir = await seededDataDir(t);
  const file = path.join(dir, 'events.sqlite');
  scribble(file);
  const damaged = readFileSync(file);
  for (const args of [
    ['export', 'summaries'],
    ['ingest', 'apel', 'fixtures/apel/caso-2026-01.msg'],
    ['project', '--rebuild'],
  ]) {
    const run = fedledgerIn(dir, args);
    t.is(run.code, 1, `${args.join(' ')}: ${run.stderr}`);
    t.true(run.stderr.includes(`${file} is damaged`), run.stderr);
    t.regex(run.stderr, /restore it from a backup.*\[FILE_CORRUPT\]$/m);
  }
  t.true(readFileSync(file).equals(damaged), 'no command rewrote or replaced the damaged log');
});

test('check: all fine exits 0; a scribbled read model is named with its rebuild, which repairs it', async (t) => {
  const dir = await seededDataDir(t);
  const fine = fedledgerIn(dir, ['check']);
  t.is(fine.code, 0, fine.stdout + fine.stderr);
  t.is(fine.stdout.match(/: ok \(/g)?.length, 3, fine.stdout);

  const readModel = path.join(dir, 'projections', 'accounting.sqlite');
  scribble(readModel);
  const damaged = fedledgerIn(dir, ['doctor']);
  t.is(damaged.code, 1, damaged.stdout + damaged.stderr);
  t.true(damaged.stdout.includes(`${readModel}: DAMAGED (read model)`), damaged.stdout);
  t.true(damaged.stdout.includes('to do: rebuild it from the event log with `fedledger project accounting --rebuild`'));
  t.regex(damaged.stdout, /events\.sqlite: ok \(event log\)/);
  t.regex(damaged.stderr, /1 file\(s\) of .* damaged or missing.*\[DATA_DAMAGED\]/);

  t.is(fedledgerIn(dir, ['project', 'accounting', '--rebuild']).code, 0);
  t.is(fedledgerIn(dir, ['check']).code, 0);
});

test('check: a scribbled event log is named, with restoring from a backup as what to do', async (t) => {
  const dir = await seededDataDir(t);
  const file = path.join(dir, 'events.sqlite');
  scribble(file);
  const run = fedledgerIn(dir, ['check']);
  t.is(run.code, 1);
  t.true(run.stdout.includes(`${file}: DAMAGED (event log)`), run.stdout);
  t.regex(run.stdout, /to do: restore it from a backup/);
});

test('a SQLite corruption error met mid-command names the damaged file, found by checking them all', async (t) => {
  const dir = await seededDataDir(t);
  const readModel = path.join(dir, 'projections', 'availability.sqlite');
  scribble(readModel);
  const error = explainStorageFailure(
    new Database.SqliteError('database disk image is malformed', 'SQLITE_CORRUPT'),
    dir,
  );
  t.true(error instanceof UserError);
  t.is((error as UserError).code, 'FILE_CORRUPT');
  t.deepEqual((error as UserError).location, { message: readModel });
  t.regex((error as UserError).message, /fedledger project availability --rebuild/);
  const other = new Error('not a storage failure');
  t.is(explainStorageFailure(other, dir), other);
});

/** As root, file modes do not stop writes: the command then runs as nobody, where nobody can read the checkout. */
const unprivileged = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
const asNobody = spawnSync(unprivileged[0] ?? process.execPath, [
  ...unprivileged.slice(1),
  ...(unprivileged.length ? [process.execPath] : []),
  '-e',
  "require('fs').accessSync('bin/fedledger.js', require('fs').constants.R_OK)",
]);
const cannotDrop =
  asNobody.status === 0
    ? undefined
    : `cannot run as an unprivileged user: ${String(asNobody.error ?? asNobody.stderr)}`;

(cannotDrop ? test.skip : test)(
  `a read-only data directory: DATA_DIR_READ_ONLY naming the event log, exit 1${cannotDrop ? ` (skipped: ${cannotDrop})` : ''}`,
  async (t) => {
    const dir = await seededDataDir(t);
    const before = summaries(dir);
    for (const name of readdirSync(dir, { recursive: true }) as string[]) {
      const p = path.join(dir, name);
      chmodSync(p, statSync(p).isDirectory() ? 0o555 : 0o444);
    }
    chmodSync(dir, 0o555);
    t.teardown(() => writable(dir));
    const run = fedledgerIn(dir, ['export', 'summaries'], unprivileged);
    t.is(run.code, 1, run.stderr);
    t.true(run.stderr.includes(`${path.join(dir, 'events.sqlite')} cannot be written`), run.stderr);
    t.regex(run.stderr, /\[DATA_DIR_READ_ONLY\]$/m);
    writable(dir);
    t.is(summaries(dir), before, 'nothing committed was lost');
  },
);

/** A tiny filesystem of its own, where one can be mounted (root in a sandbox that allows it). */
function smallFilesystem(dir: string): string | undefined {
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { encoding: 'utf8' });
  return mounted.status === 0 ? undefined : (mounted.stderr || String(mounted.error)).trim();
}

const tiny = tempDir();
const cannotMount = smallFilesystem(tiny.dir);
const onTiny = cannotMount === undefined ? test : test.skip;
test.after.always(() => {
  if (cannotMount === undefined) spawnSync('umount', [tiny.dir]);
  tiny.cleanup();
});

onTiny(
  `a full disk: DISK_FULL naming the file, exit 1${cannotMount ? ` (skipped: no tmpfs to fill: ${cannotMount})` : ''}`,
  async (t) => {
    const dir = await seededDataDir(t);
    const full = path.join(tiny.dir, 'data');
    cpSync(dir, full, { recursive: true });
    // Fill what is left (writeFileSync stops at the first short write).
    try {
      for (let i = 0; ; i++) writeFileSync(path.join(tiny.dir, `fill-${i}`), Buffer.alloc(64 * 1024));
    } catch {
      // ENOSPC: full.
    }
    const run = fedledgerIn(full, ['ingest', 'apel', 'fixtures/demo/apel/CESGA-2026-05.txt']);
    t.is(run.code, 1, run.stderr);
    t.true(run.stderr.includes(`no space left on the filesystem of ${path.join(full, 'events.sqlite')}`), run.stderr);
    t.regex(run.stderr, /\[DISK_FULL\]$/m);
    for (const name of readdirSync(tiny.dir)) if (name.startsWith('fill-')) rmSync(path.join(tiny.dir, name));
    t.is(summaries(full), summaries(dir), 'nothing committed was lost');
  },
);

/**
 * Commands that read refuse a data directory without an event log (a mistyped
 * path is an error, not an empty answer); commands that write create it and say so.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fedledgerIn } from '../support/cli.ts';
import { tempDir } from '../support/tmp.ts';

const READERS: Array<readonly string[]> = [
  ['export', 'summaries'],
  ['export', 'glue2'],
  ['report', '--period', '2026-09'],
  ['project'],
  ['token', 'list'],
];

test('commands that read refuse a missing data directory, naming it, and do not create it', (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const mistyped = path.join(tmp.dir, 'x', 'nope');
  for (const args of READERS) {
    const run = fedledgerIn(mistyped, args);
    t.is(run.code, 1, `${args.join(' ')}: ${run.stderr}`);
    t.is(run.stdout, '', args.join(' '));
    t.true(run.stderr.includes(mistyped) && run.stderr.includes('[NO_DATA_DIR]'), `${args.join(' ')}: ${run.stderr}`);
    t.false(existsSync(mistyped), `${args.join(' ')} created the directory`);
  }
});

test('a data directory that exists but holds no event log is refused too', (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const run = fedledgerIn(tmp.dir, ['report', '--period', '2026-09']);
  t.is(run.code, 1);
  t.regex(run.stderr, /holds no event log \(events\.sqlite\).*\[NO_DATA_DIR\]/);
  t.false(existsSync(path.join(tmp.dir, 'reports')), 'no all-zero report is written');
});

test('commands that write create the data directory and say so the first time only', (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const forLog = path.join(tmp.dir, 'log');
  const first = fedledgerIn(forLog, ['ingest', 'apel', 'fixtures/apel/caso-2025-12.msg']);
  t.is(first.code, 0, first.stderr);
  t.is(first.stderr, `fedledger: created data directory ${forLog}\n`);
  const again = fedledgerIn(forLog, ['ingest', 'apel', 'fixtures/apel/caso-2026-01.msg']);
  t.is(again.code, 0, again.stderr);
  t.false(again.stderr.includes('created data directory'));
  const read = fedledgerIn(forLog, ['export', 'summaries']);
  t.is(read.code, 0, read.stderr);
  t.regex(read.stdout, /^SiteName,/);

  const forTokens = path.join(tmp.dir, 'tokens');
  const token = fedledgerIn(forTokens, ['token', 'create', '--role', 'staff']);
  t.is(token.code, 0, token.stderr);
  t.true(token.stderr.startsWith(`fedledger: created data directory ${forTokens}\n`), token.stderr);
  t.is(fedledgerIn(forTokens, ['token', 'list']).code, 0, 'a directory holding tokens can list them');

  const forProbes = path.join(tmp.dir, 'probes');
  const probes = fedledgerIn(forProbes, ['ingest', 'probes', 'fixtures/demo/probes/results.jsonl']);
  t.is(probes.code, 0, probes.stderr);
  t.true(probes.stderr.startsWith(`fedledger: created data directory ${forProbes}\n`), probes.stderr);
});

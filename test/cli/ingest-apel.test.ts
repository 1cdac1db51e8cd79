import test from 'ava';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MESSAGES_PER_BATCH } from '../../src/ingest/preparers/worker-thread.ts';
import { tempDir } from '../support/tmp.ts';

const DEMO_APEL = 'fixtures/demo/apel';
const BAD = 'fixtures/apel/mixed-bad.msg';

interface Outcome {
  accepted: number;
  unchanged: number;
  rejected: number;
  errors: { message: string; record: number | null; line: number | null; field: string | null; reason: string }[];
  filesSkipped: number;
  skipped: { file: string; reason: string }[];
}

function cli(dataDir: string, ...args: string[]) {
  const run = spawnSync(process.execPath, ['bin/fedledger.js', '--data-dir', dataDir, ...args], { encoding: 'utf8' });
  const json =
    (run.status === 0 || run.status === 3) && args.includes('json') ? (JSON.parse(run.stdout) as Outcome) : undefined;
  return { ...run, json };
}

/** Every path below `dir` with its size and modification time: what `ls -lR` would show. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .sort()
    .map((rel) => {
      const s = statSync(path.join(dir, rel));
      return `${rel} ${s.size} ${s.mtimeMs}`;
    });
}

test('an SSM directory: read into any fresh data directory, left as it was, files the store has are skipped', (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const outgoing = path.join(tmp.dir, 'outgoing');
  // As an SSM sender leaves them: messages in subdirectories, a sender's temporary file beside them.
  mkdirSync(path.join(outgoing, 'a'), { recursive: true });
  cpSync(DEMO_APEL, path.join(outgoing, 'a'), { recursive: true });
  cpSync(BAD, path.join(outgoing, 'zz-bad.msg'));
  cpSync(BAD, path.join(outgoing, 'zz-bad.msg.tmp'));
  const messages = readdirSync(DEMO_APEL).length + 1;
  t.true(messages > MESSAGES_PER_BATCH, 'enough messages for the parser thread');
  const before = listing(outgoing);
  const [one, two] = [path.join(tmp.dir, 'one'), path.join(tmp.dir, 'two')];

  const first = cli(one, 'ingest', 'apel', '--format', 'json', outgoing);
  t.is(first.status, 3, first.stderr);
  const outcome = first.json!;
  t.true(outcome.accepted > 1000);
  t.is(outcome.unchanged, 0);
  t.true(outcome.rejected > 0);
  t.is(outcome.filesSkipped, 0);
  t.is(outcome.errors.length, outcome.rejected, 'each bad record of the fixture has one error');
  t.true(outcome.errors.some((e) => e.message === path.join(outgoing, 'zz-bad.msg')));
  for (const e of outcome.errors) {
    t.true(existsSync(e.message) && e.message.startsWith(outgoing), e.message);
    t.true(e.record !== null && e.line !== null && e.field !== null && e.reason.length > 0, JSON.stringify(e));
  }
  t.deepEqual(listing(outgoing), before, 'nothing is written into the input folder');

  const second = cli(two, 'ingest', 'apel', '--format', 'json', outgoing);
  t.is(second.json!.accepted, outcome.accepted, 'a second, fresh data directory gets every record too');
  t.is(second.json!.rejected, outcome.rejected);
  t.deepEqual(listing(outgoing), before);

  const again = cli(one, 'ingest', 'apel', '--format', 'json', outgoing);
  t.is(again.status, 0, again.stderr);
  t.like(again.json, { accepted: 0, unchanged: 0, rejected: 0, errors: [], filesSkipped: messages });
  t.true(again.json!.skipped.every((s) => /^already ingested: same content as .+, ingested \d{4}-/.test(s.reason)));
  const text = cli(one, 'ingest', 'apel', outgoing);
  t.regex(text.stdout, new RegExp(`^0 accepted, 0 unchanged, 0 rejected; ${messages} files skipped, already ingested`));

  // Content decides: a renamed copy is skipped, a changed file is read.
  cpSync(BAD, path.join(outgoing, 'renamed.msg'));
  writeFileSync(
    path.join(outgoing, 'zz-bad.msg'),
    'APEL-cloud-message: v0.4\nVMUUID: new-vm\nSiteName: SITE-A\nWallDuration: 60\n',
  );
  const changed = cli(one, 'ingest', 'apel', '--format', 'json', outgoing);
  t.like(changed.json, { accepted: 1, rejected: 0, filesSkipped: messages });
  t.true(
    changed.json!.skipped.some((s) => s.file === path.join(outgoing, 'renamed.msg') && s.reason.includes('zz-bad.msg')),
  );

  // The same message named as a file is read again, and changes nothing: its good records are already stored.
  const resent = cli(one, 'ingest', 'apel', '--format', 'json', path.join(outgoing, 'a', readdirSync(DEMO_APEL)[0]!));
  t.is(resent.status, 0, resent.stderr);
  t.is(resent.json!.accepted, 0);
  t.true(resent.json!.unchanged > 0);
});

test('--mark-done writes SSM markers beside the messages, which do not decide what is read', (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const outgoing = path.join(tmp.dir, 'outgoing');
  mkdirSync(outgoing);
  cpSync('fixtures/apel/caso-2025-12.msg', path.join(outgoing, 'm1'));
  const marked = cli(path.join(tmp.dir, 'one'), 'ingest', 'apel', '--mark-done', '--format', 'json', outgoing);
  t.is(marked.status, 0, marked.stderr);
  t.true(existsSync(path.join(outgoing, 'm1.done')));
  const fresh = cli(path.join(tmp.dir, 'two'), 'ingest', 'apel', '--format', 'json', outgoing);
  t.is(fresh.json!.accepted, marked.json!.accepted, 'a marker does not stop another data directory reading the file');
  t.regex(cli(tmp.dir, 'ingest', 'apel', '--help').stdout, /--mark-done/);
});

test('ingest apel prints accepted, unchanged and rejected, and each error with its record, line and field', (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const run = cli(tmp.dir, 'ingest', 'apel', BAD);
  t.is(run.status, 3, run.stderr);
  const counts = /^(\d+) accepted, (\d+) unchanged, (\d+) rejected$/m.exec(run.stdout);
  t.truthy(counts, run.stdout);
  const [accepted, rejected] = [Number(counts![1]), Number(counts![3])];
  t.true(accepted > 0 && rejected > 0);
  const lines = run.stderr.trim().split('\n');
  t.is(lines.length, rejected);
  for (const line of lines) t.regex(line, /^fixtures\/apel\/mixed-bad\.msg: record \d+, line \d+, \w+: .+/);
});

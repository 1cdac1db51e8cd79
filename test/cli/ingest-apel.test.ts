import test from 'ava';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { MESSAGES_PER_BATCH } from '../../src/ingest/apel-parse-worker.ts';
import { tempDir } from '../support/tmp.ts';

const DEMO_APEL = 'fixtures/demo/apel';
const BAD = 'fixtures/apel/mixed-bad.msg';

interface Outcome {
  accepted: number;
  unchanged: number;
  rejected: number;
  errors: { message: string; record: number | null; line: number | null; field: string | null; reason: string }[];
}

function cli(dataDir: string, ...args: string[]) {
  const run = spawnSync(process.execPath, ['bin/fedledger.js', '--data-dir', dataDir, ...args], { encoding: 'utf8' });
  const json = run.status === 0 && args.includes('json') ? (JSON.parse(run.stdout) as Outcome) : undefined;
  return { ...run, json };
}

test('an SSM outgoing directory is ingested message by message, each marked done and taken once', (t) => {
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

  const first = cli(tmp.dir, 'ingest', 'apel', '--format', 'json', outgoing);
  t.is(first.status, 0, first.stderr);
  const outcome = first.json!;
  t.true(outcome.accepted > 1000);
  t.is(outcome.unchanged, 0);
  t.true(outcome.rejected > 0);
  t.is(outcome.errors.length, outcome.rejected, 'each bad record of the fixture has one error');
  t.true(outcome.errors.some((e) => e.message === path.join(outgoing, 'zz-bad.msg')));
  for (const e of outcome.errors) {
    t.true(existsSync(e.message) && e.message.startsWith(outgoing), e.message);
    t.true(e.record !== null && e.line !== null && e.field !== null && e.reason.length > 0, JSON.stringify(e));
  }
  for (const name of readdirSync(DEMO_APEL)) t.true(existsSync(path.join(outgoing, 'a', `${name}.done`)), name);
  t.true(existsSync(path.join(outgoing, 'zz-bad.msg.done')));
  t.false(existsSync(path.join(outgoing, 'zz-bad.msg.tmp.done')), 'a temporary file is not a message');

  const again = cli(tmp.dir, 'ingest', 'apel', '--format', 'json', outgoing);
  t.deepEqual(again.json, { accepted: 0, unchanged: 0, rejected: 0, errors: [] }, 'messages marked done are not read');

  // The same message named as a file is read again, and changes nothing: its good records are already stored.
  const resent = cli(
    tmp.dir,
    'ingest',
    'apel',
    '--format',
    'json',
    path.join(outgoing, 'a', readdirSync(DEMO_APEL)[0]!),
  );
  t.is(resent.status, 0, resent.stderr);
  t.is(resent.json!.accepted, 0);
  t.true(resent.json!.unchanged > 0);
});

test('ingest apel prints accepted, unchanged and rejected, and each error with its record, line and field', (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const run = cli(tmp.dir, 'ingest', 'apel', BAD);
  t.is(run.status, 0, run.stderr);
  const counts = /^(\d+) accepted, (\d+) unchanged, (\d+) rejected$/m.exec(run.stdout);
  t.truthy(counts, run.stdout);
  const [accepted, rejected] = [Number(counts![1]), Number(counts![3])];
  t.true(accepted > 0 && rejected > 0);
  const lines = run.stderr.trim().split('\n');
  t.is(lines.length, rejected);
  for (const line of lines) t.regex(line, /^fixtures\/apel\/mixed-bad\.msg: record \d+, line \d+, \w+: .+/);
});

/**
 * The crash script at CI size: a few SIGKILLs spread over its four phases, and
 * the crashed run must end identical to the clean one.
 */
import test from 'ava';
import { spawn } from 'node:child_process';

test('test:crash at CI size: every kill lands, and the crashed run equals the clean run', async (t) => {
  t.timeout(180_000);
  const args = ['--kills', '5', '--runs', '1', '--messages', '20', '--records', '200', '--pushed', '4'];
  const script = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/reliability/crash.ts', ...args, '--probe-days', '1', '--seed', '7'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  script.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  script.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => script.on('close', resolve));
  t.is(code, 0, out);
  t.regex(out, /^seed 7: 20 messages, 200 records \(4 messages pushed\)/m);
  t.regex(out, /^run 1: 5 kills .*identical$/m, out);
  t.regex(out, /^kills: 5, runs identical: 1\/1, events lost: 0, events doubled: 0$/m, out);
});

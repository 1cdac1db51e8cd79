/**
 * `serve` and `demo` as processes: a port in use is a user error before any
 * work, the demo's own temporary directory goes when it stops, and log lines
 * reach their destination while the server runs.
 */
import test from 'ava';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fedledgerIn } from '../support/cli.ts';
import { tempDir } from '../support/tmp.ts';

/** Waits until the child's stdout so far matches `pattern`; rejects if it exits first or after `ms`. */
function waitFor(
  child: ChildProcess,
  output: { text: string },
  pattern: RegExp,
  ms = 120_000,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const found = output.text.match(pattern);
      if (!found) return;
      cleanup();
      resolve(found);
    };
    const exited = () => {
      cleanup();
      reject(new Error(`exited before ${pattern}: ${output.text}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${pattern} within ${ms} ms: ${output.text}`));
    }, ms);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout!.off('data', check);
      child.off('exit', exited);
    };
    child.stdout!.on('data', check);
    child.once('exit', exited);
    check();
  });
}

function start(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, ['bin/fedledger.js', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { text: '' };
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output.text += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output, exit };
}

async function occupiedPort(t: { teardown: (fn: () => void) => void }): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

test('serve writes its log lines as they happen, not at shutdown', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const serve = start(['--data-dir', tmp.dir, 'serve', '--port', '0', '--host', '127.0.0.1']);
  t.teardown(() => serve.child.kill('SIGKILL'));
  const [, url] = await waitFor(serve.child, serve.output, /"url":"(http:[^"]+)".*"msg":"listening"/);
  const answer = await fetch(`${url}/healthz`);
  t.is(answer.status, 200);
  const [line] = await waitFor(serve.child, serve.output, /^.*"path":"\/healthz".*$/m);
  t.regex(line, /"status":200/);
  serve.child.kill('SIGTERM');
  t.is(await serve.exit, 0);
});

test('serve and demo on a port in use: PORT_IN_USE at once, exit 1, and no demo directory left', async (t) => {
  const port = String(await occupiedPort(t));
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const serve = fedledgerIn(path.join(tmp.dir, 'data'), ['serve', '--port', port, '--host', '127.0.0.1']);
  t.is(serve.code, 1, serve.stderr);
  t.is(serve.stderr, `fedledger: port ${port} is in use (try --port) [PORT_IN_USE]\n`);
  t.false(existsSync(path.join(tmp.dir, 'data')), 'nothing is created before the port check');

  const demo = start(['demo', '--port', port], { ...process.env, TMPDIR: tmp.dir });
  let stderr = '';
  demo.child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  t.is(await demo.exit, 1);
  t.is(stderr, `fedledger: port ${port} is in use (try --port) [PORT_IN_USE]\n`);
  t.is(demo.output.text, '', 'nothing was loaded');
  t.deepEqual(
    readdirSync(tmp.dir).filter((n) => n.startsWith('fedledger-demo-')),
    [],
  );
});

test('the demo removes the temporary data directory it made when it is stopped', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const demo = start(['demo', '--port', '0'], { ...process.env, TMPDIR: tmp.dir });
  t.teardown(() => demo.child.kill('SIGKILL'));
  const [, dataDir] = await waitFor(demo.child, demo.output, /loaded into (\S+):/);
  await waitFor(demo.child, demo.output, /Ctrl-C stops the server and removes its data directory/);
  t.true(dataDir!.startsWith(path.join(tmp.dir, 'fedledger-demo-')) && existsSync(dataDir!), dataDir);
  demo.child.kill('SIGTERM');
  t.is(await demo.exit, 0);
  t.false(existsSync(dataDir!), `${dataDir} is left behind`);
});

test('a demo stopped while it is still loading removes its temporary data directory too', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const demo = start(['demo', '--port', '0'], { ...process.env, TMPDIR: tmp.dir });
  t.teardown(() => demo.child.kill('SIGKILL'));
  const own = () => readdirSync(tmp.dir).filter((n) => n.startsWith('fedledger-demo-'));
  const deadline = Date.now() + 120_000;
  while (own().length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  t.is(own().length, 1, 'the demo made its directory');
  demo.child.kill('SIGTERM');
  t.is(await demo.exit, 143);
  t.false(demo.output.text.includes('loaded into'), 'stopped before loading ended');
  t.deepEqual(own(), []);
});

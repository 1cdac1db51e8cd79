/** Killing the `fedledger` process (SIGKILL, which it cannot catch) ends all of its work. */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from '../support/tmp.ts';

/** Every process below `pid` (Linux: /proc/<pid>/task/<tid>/children). */
function descendants(pid: number): number[] {
  const tasks = `/proc/${pid}/task`;
  if (!existsSync(tasks)) return [];
  const children = readdirSync(tasks).flatMap((tid) => {
    try {
      return readFileSync(path.join(tasks, tid, 'children'), 'utf8')
        .split(' ')
        .filter(Boolean)
        .map(Number);
    } catch {
      return [];
    }
  });
  return children.flatMap((c) => [c, ...descendants(c)]);
}

const alive = (pid: number) =>
  existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

test('SIGKILL of `fedledger ingest` leaves no process behind', async (t) => {
  if (process.platform !== 'linux') return t.pass('process tree read from /proc, Linux only');
  const tmp = tempDir();
  // A FIFO nobody writes to: the ingest waits on it for ever, as on a slow input, until it is killed.
  const fifo = path.join(tmp.dir, 'probes.jsonl');
  spawnSync('mkfifo', [fifo]);
  const cli = spawn(process.execPath, ['bin/fedledger.js', '--data-dir', tmp.dir, 'ingest', 'probes', fifo], {
    stdio: 'ignore',
  });
  let work: number[] = [];
  for (let i = 0; i < 200 && !work.length; i++) {
    await sleep(50);
    work = descendants(cli.pid!);
  }
  try {
    t.true(work.length > 0, 'the bulk command runs in a child process');
    cli.kill('SIGKILL');
    const deadline = Date.now() + 10_000;
    while (work.some(alive) && Date.now() < deadline) await sleep(50);
    t.deepEqual(work.filter(alive), [], 'processes still running after the CLI was killed');
  } finally {
    for (const pid of work.filter(alive)) process.kill(pid, 'SIGKILL');
    tmp.cleanup();
  }
});

import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { tempDir } from '../support/tmp.ts';

test('fedledger demo takes its data directory from FEDLEDGER_DATA_DIR, like every other command', (t) => {
  const tmp = tempDir();
  const fedledger = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, ['bin/fedledger.js', ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
  t.is(
    fedledger(['--data-dir', tmp.dir, 'ingest', 'apel', path.join('fixtures', 'apel', 'caso-2025-12.msg')]).status,
    0,
  );
  // A directory that already holds an event log is refused: the demo looked where the variable points.
  const demo = fedledger(['demo', '--port', '0'], { FEDLEDGER_DATA_DIR: tmp.dir });
  tmp.cleanup();
  t.is(demo.status, 1, demo.stdout);
  t.is(
    demo.stderr,
    `fedledger: ${tmp.dir} already holds an event log; the demo needs a fresh data directory [DEMO_NOT_FRESH]\n`,
  );
});

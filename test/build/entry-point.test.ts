/** bin/fedledger.js as npm installs it: through a .bin link, with --version, and never on a stale build. */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../support/tmp.ts';

const BIN = path.resolve('bin/fedledger.js');

test('the CLI runs through a node_modules/.bin link, as npx and npm link start it', (t) => {
  const tmp = tempDir();
  mkdirSync(path.join(tmp.dir, 'node_modules', '.bin'), { recursive: true });
  const link = path.join(tmp.dir, 'node_modules', '.bin', 'fedledger');
  symlinkSync(BIN, link);
  const run = spawnSync(link, ['--help'], { encoding: 'utf8', cwd: tmp.dir });
  tmp.cleanup();
  t.is(run.status, 0, run.stderr);
  t.regex(run.stdout, /^Usage: fedledger /);
});

test('--version prints the package version', (t) => {
  const run = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
  t.is(run.status, 0, run.stderr);
  t.is(run.stdout, `${(JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version}\n`);
});

test('a checkout whose dist/ is missing or older than a source is refused with what to run', (t) => {
  // A copy of bin/ over a stand-in build, so the real dist/ is not touched while other tests use it.
  const tmp = tempDir();
  const root = tmp.dir;
  mkdirSync(path.join(root, 'bin'));
  for (const f of readdirSync('bin')) copyFileSync(path.join('bin', f), path.join(root, 'bin', f));
  mkdirSync(path.join(root, 'dist', 'src'), { recursive: true });
  writeFileSync(
    path.join(root, 'dist', 'src', 'cli.js'),
    "export async function main() { process.stdout.write('built code ran\\n'); return 0; }\n",
  );
  mkdirSync(path.join(root, 'src', 'ingest'), { recursive: true });
  const source = path.join(root, 'src', 'ingest', 'parse.ts');
  writeFileSync(source, 'export {};\n');
  const run = () =>
    spawnSync(process.execPath, [path.join(root, 'bin', 'fedledger.js'), '--help'], { encoding: 'utf8' });

  const unbuilt = run();
  t.is(unbuilt.status, 1);
  t.is(unbuilt.stdout, '');
  t.regex(unbuilt.stderr, /no build in dist\/: run `npm run build`/);

  const stamp = path.join(root, 'dist', 'BUILT');
  writeFileSync(stamp, '');
  utimesSync(stamp, new Date('2026-03-01T10:00:00Z'), new Date('2026-03-01T10:00:00Z'));
  utimesSync(source, new Date('2026-03-01T10:00:01Z'), new Date('2026-03-01T10:00:01Z'));
  const stale = run();
  t.is(stale.status, 1);
  t.is(stale.stdout, '');
  t.regex(
    stale.stderr,
    /dist\/ is older than src\/ingest\/parse\.ts, changed after the last build: run `npm run build`/,
  );

  utimesSync(source, new Date('2026-03-01T09:59:59Z'), new Date('2026-03-01T09:59:59Z'));
  const fresh = run();
  t.is(fresh.status, 0, fresh.stderr);
  t.is(fresh.stdout, 'built code ran\n');
  tmp.cleanup();
});

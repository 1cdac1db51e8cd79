/**
 * The npm package as a user gets it: `npm pack`, installed into an empty folder with no dev dependency, and run
 * through npx. Packs the current dist/ (bin/fedledger.js refuses a stale one, and so does this test).
 */
import test from 'ava';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../support/tmp.ts';

const NATIVE = path.join('build', 'Release', 'better_sqlite3.node');

function run(command: string, args: string[], options: SpawnSyncOptions = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  return { code: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

test('npm pack gives a package that installs into an empty folder and runs ingest and export through npx', (t) => {
  t.timeout(5 * 60_000);
  const fresh = run(process.execPath, ['bin/fedledger.js', '--version']);
  t.is(fresh.code, 0, `the build to pack is not fit: ${fresh.stderr}`);
  if (fresh.code !== 0) return;
  const tmp = tempDir();
  try {
    const packed = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp.dir]);
    t.is(packed.code, 0, packed.stderr);
    const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
    const shipped = files.map((f) => f.path);
    for (const needed of [
      'bin/fedledger.js',
      'dist/src/cli.js',
      'dist/src/ingest/preparers/worker-thread.js',
      'dist/src/projection/worker-thread.js',
      'dist/projections/accounting/apply.js',
      'graphql/base.graphql',
      'fixtures/availability/profiles/operations-egi_ops.json',
      'fixtures/apel/caso-2025-12.msg',
    ])
      t.true(shipped.includes(needed), `${needed} is in the package`);
    t.deepEqual(
      shipped.filter((f) => /^(src|test|scripts|fixtures\/demo)\//.test(f) || f.endsWith('.ts')),
      [],
      'sources, tests, benchmarks and their sample data are not',
    );

    const app = path.join(tmp.dir, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), '{ "name": "app", "private": true }\n');
    // Scripts off: better-sqlite3's install compiles its addon (minutes here, or a download from GitHub); the
    // addon this checkout built for the same version and Node takes its place. Everything else is the registry's.
    const installed = run(
      'npm',
      ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', path.join(tmp.dir, filename)],
      { cwd: app },
    );
    t.is(installed.code, 0, installed.stderr);
    const sqlite = path.join(app, 'node_modules', 'better-sqlite3');
    mkdirSync(path.dirname(path.join(sqlite, NATIVE)), { recursive: true });
    copyFileSync(path.join('node_modules', 'better-sqlite3', NATIVE), path.join(sqlite, NATIVE));
    for (const dev of ['tsx', 'typescript', 'ava', 'esbuild'])
      t.false(existsSync(path.join(app, 'node_modules', dev)), `dev dependency ${dev} is not installed`);

    const npx = (...args: string[]) => run('npx', ['fedledger', ...args], { cwd: app });
    const help = npx('--help');
    t.is(help.code, 0, help.stderr);
    t.regex(help.stdout, /^Usage: fedledger /);
    const demoHelp = npx('demo', '--help');
    t.is(demoHelp.code, 0, demoHelp.stderr);
    t.regex(demoHelp.stdout, /^Usage: fedledger demo /);

    // The bundled APEL fixtures (the valid ones), copied out: ingesting a directory marks its files done.
    const messages = path.join(tmp.dir, 'messages');
    mkdirSync(messages);
    for (const f of ['caso-2025-12.msg', 'caso-2026-01.msg', 'oneacct-v02.msg'])
      cpSync(path.join(app, 'node_modules', 'fedledger', 'fixtures', 'apel', f), path.join(messages, f));
    const ingest = npx('--data-dir', 'data', 'ingest', 'apel', messages);
    t.is(ingest.code, 0, ingest.stderr);
    t.regex(ingest.stdout, /^\d+ accepted, 0 unchanged, 0 rejected\n/);
    const exported = npx('--data-dir', 'data', 'export', 'apel-summaries', '--from', '2025-12', '--to', '2026-01');
    t.is(exported.code, 0, exported.stderr);
    t.regex(exported.stdout, /^APEL-cloud-summary-message: v0\.4\n/);

    // The same input through this checkout's CLI gives the same summaries.
    const here = path.join(tmp.dir, 'here');
    const again = path.join(tmp.dir, 'again');
    cpSync(messages, again, { recursive: true, filter: (f) => !f.endsWith('.done') });
    t.is(run(process.execPath, ['bin/fedledger.js', '--data-dir', here, 'ingest', 'apel', again]).code, 0);
    t.is(
      run(process.execPath, [
        'bin/fedledger.js',
        ...['--data-dir', here, 'export', 'apel-summaries', '--from', '2025-12', '--to', '2026-01'],
      ]).stdout,
      exported.stdout,
    );
  } finally {
    tmp.cleanup();
  }
});

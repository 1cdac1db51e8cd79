import test from 'ava';
import { spawnSync } from 'node:child_process';

// A resolve hook that names every module loaded, on stderr (hooks run on a thread of their own).
const HOOKS = `data:text/javascript,${encodeURIComponent(
  'export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write(`loaded ${r.url}\\n`); return r; }',
)}`;

/** The packages (under node_modules) and the compiled modules a run of the built CLI with `args` loads. */
function loadedBy(args: string[]): { packages: string[]; modules: string[]; stdout: string } {
  const script = `import { register } from 'node:module'; register(${JSON.stringify(HOOKS)});
const { main } = await import('./dist/src/cli.js'); process.exitCode = await main(${JSON.stringify(args)});`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  const urls = [...run.stderr.matchAll(/^loaded (\S+)$/gm)].map((m) => m[1]!);
  const packages = new Set(urls.flatMap((u) => /node_modules\/((@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []));
  const modules = urls.flatMap((u) => /\/dist\/(.+)$/.exec(u)?.[1] ?? []);
  return { packages: [...packages].sort(), modules, stdout: run.stdout };
}

test('fedledger --help loads commander and the command list, not the commands implementations', (t) => {
  const { packages, modules, stdout } = loadedBy(['--help']);
  t.regex(stdout, /ingest/);
  t.deepEqual(packages, ['commander']);
  for (const heavy of ['src/eventlog/sqlite.js', 'src/projection/registry.js', 'src/events/catalogue.js'])
    t.false(modules.includes(heavy), `${heavy} loaded by --help`);
});

test('a subcommand help loads no more than commander either', (t) => {
  const { packages, stdout } = loadedBy(['ingest', 'apel', '--help']);
  t.regex(stdout, /--mark-done/);
  t.deepEqual(packages, ['commander']);
});

/**
 * What the CLI tells a user on small mistakes and while it works: option
 * choices in commander's one form, GLUE 2 for a site without collector data,
 * progress bars that end at 100 %.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fedledgerIn } from '../support/cli.ts';
import { seededDataDir } from '../support/seeded.ts';

test('an option value outside its choices gets the same usage error from every command, exit 1', async (t) => {
  const dir = await seededDataDir(t, { project: false });
  const cases: Array<[string[], string, string]> = [
    [['export', 'summaries', '--format', 'xml'], "--format <format>' argument 'xml'", 'csv, json'],
    [
      ['export', 'ar', '--from', '2026-01-01', '--to', '2026-01-02', '--format', 'xml'],
      "--format <f>' argument 'xml'",
      'json, csv',
    ],
    [
      ['export', 'ar', '--from', '2026-01-01', '--to', '2026-01-02', '--granularity', 'hourly'],
      "--granularity <g>' argument 'hourly'",
      'daily, monthly',
    ],
    [['token', 'create', '--role', 'root'], "--role <role>' argument 'root'", 'staff, site'],
    [['ingest', 'apel', 'fixtures/apel', '--format', 'yaml'], "--format <format>' argument 'yaml'", 'text, json'],
    [
      ['quarantine', 'resubmit', 'm', '0', 'fixtures/apel/mixed-bad.msg', '--format', 'yaml'],
      "--format <format>' argument 'yaml'",
      'text, json',
    ],
  ];
  for (const [args, option, allowed] of cases) {
    const run = fedledgerIn(dir, args);
    t.is(run.code, 1, args.join(' '));
    t.true(
      run.stderr.startsWith(`error: option '${option} is invalid. Allowed choices are ${allowed}`),
      `${args.join(' ')}: ${run.stderr}`,
    );
    t.regex(run.stderr, /\nUsage: fedledger /, "followed by the command's help");
  }
});

test('export glue2 --site: a known site without collector data says so; an unknown site is UNKNOWN_SITE', async (t) => {
  const dir = await seededDataDir(t);
  const known = fedledgerIn(dir, ['export', 'glue2', '--site', 'EXAMPLE-CLOUD']);
  t.is(known.code, 1);
  t.regex(known.stderr, /site EXAMPLE-CLOUD is known, but no collector .* has reported it.*\[NO_COLLECTOR_DATA\]/);
  const unknown = fedledgerIn(dir, ['export', 'glue2', '--site', 'NO-SUCH-SITE']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /no site NO-SUCH-SITE .*\[UNKNOWN_SITE\]/);
});

test("project's progress bars end at 100 % when a projection's last event is not the log's last", async (t) => {
  // Probe results after the usage records: the accounting read model's last event is far from the head.
  const dir = await seededDataDir(t, { probes: 'fixtures/demo/probes/results.jsonl', project: false });
  // The bars are drawn on a terminal only: `script` gives the command one.
  const run = spawnSync(
    'script',
    ['-qec', `${process.execPath} bin/fedledger.js --data-dir ${dir} project --rebuild`, '/dev/null'],
    { encoding: 'utf8' },
  );
  t.is(run.status, 0, run.stderr);
  for (const name of ['availability', 'accounting']) {
    const frames = [...run.stdout.matchAll(new RegExp(`${name} \\[[^\\]]*\\] (\\d+)%`, 'g'))].map((m) => m[1]);
    t.true(frames.length > 0, `${name}: ${run.stdout}`);
    t.is(frames.at(-1), '100', `${name}'s bar ends at ${frames.at(-1)} %`);
  }
});

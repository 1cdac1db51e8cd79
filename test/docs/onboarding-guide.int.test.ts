/**
 * docs/onboarding.md, run as written: its `sh step` blocks in order, in one bash session, against a fresh data
 * directory and `fedledger serve` on 127.0.0.1, the CLI being the build (bin/fedledger.js, so `npm run build` first).
 * The site's OpenStack is a local stand-in serving the collector fixtures (test/support/fake-openstack.ts): the
 * guide's collector step runs `fedledger collect` as a child process, where nock cannot reach, and the guide's
 * configuration stays the one a site copies, pointed at the stand-in by $KEYSTONE_URL. Nothing else is faked.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { startServer } from '../../scripts/bench/serve-child.ts';
import { parseCollectorConfig } from '../../src/collectors/config.ts';
import { startFakeOpenStack } from '../support/fake-openstack.ts';
import { tempDir } from '../support/tmp.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GUIDE = readFileSync(path.join(ROOT, 'docs/onboarding.md'), 'utf8');

/** Fenced blocks with their info string, in order. */
function blocks(markdown: string): Array<{ info: string; body: string }> {
  return [...markdown.matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)].map((m) => ({ info: m[1]!.trim(), body: m[2]! }));
}

const steps = blocks(GUIDE).filter((b) => b.info === 'sh step');
const marker = (i: number) => `@@ onboarding step ${i + 1} @@`;

test('the guide names the variables its steps use, and its collector configurations are valid', (t) => {
  const variables = blocks(GUIDE).find((b) => b.info === 'sh' && b.body.includes('export SITE='));
  t.truthy(variables, 'the "Before you start" block');
  t.deepEqual(
    [...variables!.body.matchAll(/^export (\w+)=/gm)].map((m) => m[1]).sort(),
    Object.keys(guideEnv('', '', '')).sort(),
    'the test sets exactly the variables the guide asks a site to set',
  );
  const configs = blocks(GUIDE)
    .map((b) => b.body)
    .filter((b) => /^sources:/m.test(b));
  t.is(configs.length, 2, 'OpenStack and OpenNebula');
  const values = guideEnv('/var/lib/fedledger', 'https://fedledger.example.org', 'https://keystone.example.org/v3');
  for (const config of configs) {
    // The OpenStack one is written by a step, with the guide's variables in it: read it as the shell writes it.
    const text = config.includes('<<EOF')
      ? config
          .slice(config.indexOf('sources:'), config.indexOf('\nEOF'))
          .replace(/\$(\w+)/g, (_, name: string) => values[name as keyof typeof values] ?? '')
      : config;
    t.notThrows(() => parseCollectorConfig(yaml.load(text), 'docs/onboarding.md'));
  }
  t.true(steps.length >= 8, 'register, tokens, three ways to publish, probes, GLUE, status');
});

/** The guide's variables, with this test's values. */
function guideEnv(dataDir: string, url: string, keystoneUrl: string): Record<string, string> {
  return {
    SITE: 'NEW-CLOUD',
    HOST: 'keystone.new-cloud.example.org',
    FEDLEDGER_URL: url,
    FEDLEDGER_DATA_DIR: dataDir,
    KEYSTONE_URL: keystoneUrl,
    OS_APP_CRED_ID: 'guide-test-credential',
    OS_APP_CRED_SECRET: 'guide-test-secret',
  };
}

test('docs/onboarding.md, every step in order, ends with the new site integrated', async (t) => {
  const started = new Date().toISOString().slice(0, 10);
  const tmp = tempDir('fedledger-guide-');
  t.teardown(tmp.cleanup);
  const dataDir = path.join(tmp.dir, 'data');
  const work = path.join(tmp.dir, 'work');
  const bin = path.join(tmp.dir, 'bin');
  mkdirSync(work);
  mkdirSync(bin);
  symlinkSync(path.join(ROOT, 'bin/fedledger.js'), path.join(bin, 'fedledger'));

  const openstack = await startFakeOpenStack();
  t.teardown(() => openstack.close());
  // Its request log goes to <data dir>/serve.log.
  mkdirSync(dataDir);
  const server = await startServer(dataDir, 'warn');
  t.teardown(server.stop);
  const { url } = server;

  const script = [
    'set -euo pipefail',
    ...steps.flatMap((s, i) => [`echo '${marker(i)}'`, `echo '${marker(i)}' >&2`, s.body]),
  ].join('\n');
  // Asynchronously: the stand-in OpenStack answers from this process's event loop.
  const shell = spawn('bash', ['-c', script], {
    cwd: work,
    env: {
      PATH: `${bin}:${path.dirname(process.execPath)}:${process.env['PATH']}`,
      HOME: tmp.dir,
      ...guideEnv(dataDir, url, openstack.keystoneUrl),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run = { stdout: '', stderr: '', status: null as number | null };
  shell.stdout.on('data', (chunk: Buffer) => (run.stdout += chunk.toString()));
  shell.stderr.on('data', (chunk: Buffer) => (run.stderr += chunk.toString()));
  run.status = await new Promise<number | null>((resolve) => shell.on('close', resolve));
  const section = (text: string, i: number) => text.split(marker(i))[1]?.split('@@ onboarding step')[0] ?? '';
  // The first step whose successor never started (the last step's successor never exists).
  const failed = steps.findIndex((_, i) => !run.stdout.includes(marker(i + 1)));
  t.is(
    run.status,
    0,
    `step ${failed + 1} failed:\n${steps[failed]?.body}\nstderr:\n${section(run.stderr, failed)}\nstdout:\n${section(run.stdout, failed)}`,
  );

  // The collector read the stand-in's Nova and Glance: usage and the GLUE snapshot came from it.
  t.true(openstack.requests.some((r) => r.includes('/servers/detail')));
  t.true(openstack.requests.some((r) => r.startsWith('GET /glance/v2/images')));

  const last = steps.length - 1;
  const graphql = JSON.parse(section(run.stdout, last)) as {
    data: {
      siteIntegration: {
        site: string;
        state: string;
        since: string;
        checks: Array<{ name: string; passed: boolean; reasons: string[] }>;
      };
    };
  };
  const { since, ...status } = graphql.data.siteIntegration;
  // The day it all came together: today, or yesterday for a run that crossed midnight (UTC).
  t.true([started, new Date().toISOString().slice(0, 10)].includes(since), since);
  t.deepEqual(status, {
    site: 'NEW-CLOUD',
    state: 'integrated',
    checks: [
      { name: 'accounting', passed: true, reasons: [] },
      { name: 'monitoring', passed: true, reasons: [] },
      { name: 'information', passed: true, reasons: [] },
    ],
  });
  if (process.env['GUIDE_TEST_OUTPUT']) t.log(run.stdout);
  t.regex(section(run.stdout, last - 1), /^NEW-CLOUD\s+integrated\s+\d{4}-\d{2}-\d{2}\s+ok\s+ok\s+ok$/m);
});

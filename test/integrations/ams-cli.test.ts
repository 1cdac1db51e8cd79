import test from 'ava';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { startService } from '../../src/api/service.ts';
import { CliApp } from '../../src/cli/app.ts';
import { buildProgram } from '../../src/cli.ts';
import { loadServeConfig } from '../../src/api/config.ts';
import { loadConfig } from '../../src/config.ts';
import { signSmime } from '../../src/integrations/ams/smime.ts';
import { MESSAGE_B } from '../api/harness.ts';
import { AMS_TOKEN, AMS_URL, fakeAms } from '../support/fake-ams.ts';
import { makeTestPki, type TestPki } from '../support/pki.ts';
import { tempDir } from '../support/tmp.ts';
import { until } from '../support/until.ts';

const SITE_B_DN = '/DC=org/DC=example/CN=cloud.site-b.example.org';

let pki: TestPki;
test.before(() => {
  pki = makeTestPki();
});
test.after.always(() => pki?.cleanup());

/** Runs the CLI in this process (so the nock AMS answers it): exit code and output. */
async function fedledger(dataDir: string, args: string[]) {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: '', err: '' };
  out.on('data', (b: Buffer) => (chunks.out += b.toString()));
  err.on('data', (b: Buffer) => (chunks.err += b.toString()));
  const cli = new CliApp(loadConfig({ dataDir }), out, err);
  let code: number;
  let error: Error | undefined;
  try {
    await buildProgram(() => cli).parseAsync(args, { from: 'user' });
    code = cli.exitCode;
  } catch (thrown) {
    error = thrown as Error;
    code = 1;
  } finally {
    await cli.close();
  }
  return { code, stdout: chunks.out, stderr: chunks.err, error };
}

function configFile(dir: string, fedledgerCert: { certificate: string; key: string }): string {
  const file = path.join(dir, 'fedledger.yaml');
  writeFileSync(
    file,
    `ams:
  url: ${AMS_URL}
  project: accounting
  token: ${AMS_TOKEN}
  certificate: ${fedledgerCert.certificate}
  key: ${fedledgerCert.key}
  receive:
    subscription: incoming
    trustedCaDir: ${pki.trustedCaDir}
    signers:
      "${SITE_B_DN}": [SITE-B]
  send:
    topic: portal
`,
  );
  return file;
}

test.serial(
  'receive --once ingests what the subscription holds; send --dry-run shows what would go and sends nothing',
  async (t) => {
    const { dir, cleanup } = tempDir();
    const ams = fakeAms();
    try {
      const site = pki.issue('site-b-cli', SITE_B_DN);
      const config = configFile(dir, pki.issue('fedledger-cli', '/DC=org/DC=example/CN=fedledger.example.org'));
      const dataDir = path.join(dir, 'data');
      ams.enqueue('accounting', 'incoming', await signSmime(MESSAGE_B, site));

      const received = await fedledger(dataDir, ['receive', '--once', '--config', config]);
      t.is(received.code, 0, received.stderr + String(received.error ?? ''));
      t.regex(
        received.stdout,
        /pulled 1 message\(s\): 1 ingested \(1 record\(s\) accepted.*none rejected; 1 acknowledged/,
      );
      t.is(ams.offset('accounting', 'incoming'), 1);

      const dry = await fedledger(dataDir, ['send', '--dry-run', '--config', config]);
      t.is(dry.code, 0, dry.stderr + String(dry.error ?? ''));
      t.is(dry.stdout, 'SITE-B 2026-02 1 record(s)\nwould send 1 record(s) of 1 month(s) in 1 message(s) to portal\n');
      t.deepEqual(ams.published('accounting', 'portal'), []);

      const sent = await fedledger(dataDir, ['send', '--config', config]);
      t.regex(sent.stdout, /sent 1 record\(s\) of 1 month\(s\) in 1 message\(s\) to portal/);
      t.is(ams.published('accounting', 'portal').length, 1);
      t.is(
        (await fedledger(dataDir, ['send', '--dry-run', '--config', config])).stdout,
        'nothing changed since the last send\n',
      );
    } finally {
      ams.done();
      cleanup();
    }
  },
);

test.serial('receive without --once, or without an ams section, says what to do', async (t) => {
  const { dir, cleanup } = tempDir();
  try {
    const noOnce = await fedledger(dir, ['receive']);
    t.regex(noOnce.error!.message, /--once.*fedledger serve/);
    const file = path.join(dir, 'empty.yaml');
    writeFileSync(file, 'port: 4000\n');
    const none = await fedledger(dir, ['receive', '--once', '--config', file]);
    t.regex(none.error!.message, /no ams\.receive section is configured/);
  } finally {
    cleanup();
  }
});

test('the ams block is read from the serve configuration file; a bad value names its nested field', (t) => {
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'fedledger.yaml');
    writeFileSync(file, `ams:\n  url: ${AMS_URL}\n  project: accounting\n  receive:\n    subscription: incoming\n`);
    t.throws(() => loadServeConfig({ config: file }, {}), {
      message: new RegExp(
        `invalid configuration \\(config file ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\): ams\\.receive\\.trustedCaDir: `,
      ),
    });
    writeFileSync(file, `ams:\n  url: ${AMS_URL}\n  project: accounting\n  glue:\n    topics: x\n`);
    t.throws(() => loadServeConfig({ config: file }, {}), { message: /unknown setting ams\.glue\.topics/ });
    writeFileSync(file, `ams:\n  url: ${AMS_URL}\n  project: accounting\n  glue: {}\n`);
    t.like(loadServeConfig({ config: file }, {}).ams, {
      auth: 'header',
      glue: { topic: 'SITE_{site}_ENDPOINT_{gocdbId}' },
    });
  } finally {
    cleanup();
  }
});

test.serial(
  'serve pulls on the ams.receive schedule: a signed message ends in the log and is acknowledged',
  async (t) => {
    const { dir, cleanup } = tempDir('fedledger-serve-');
    const ams = fakeAms();
    const site = pki.issue('site-b-serve', SITE_B_DN);
    ams.enqueue('accounting', 'incoming', await signSmime(MESSAGE_B, site));
    const config = loadServeConfig({ config: configFile(dir, site), port: 0, host: '127.0.0.1', dataDir: dir }, {});
    const service = await startService(
      {
        ...config,
        logLevel: 'silent',
        reportSchedule: false,
        ams: { ...config.ams!, receive: { ...config.ams!.receive!, cron: '* * * * * *' } },
      },
      { logger: pino({ level: 'silent' }) },
    );
    try {
      await until(() => (ams.offset('accounting', 'incoming') === 1 ? true : undefined));
      let records = 0;
      for await (const e of service.log.readAll({ filter: { eventTypes: ['CloudUsageRecorded'] } }))
        if ((e.data as { publisher: string }).publisher === `ssm:${SITE_B_DN}`) records += 1;
      t.is(records, 1);
    } finally {
      await service.close();
      ams.done();
      cleanup();
    }
  },
);

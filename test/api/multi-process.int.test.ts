/**
 * Several processes on one data directory: two `serve` processes, `export` runs (which catch the read models up
 * themselves) and a rebuild project the same read model files while records are pushed over HTTP. The figures must be those
 * one process projecting the same log alone gives.
 */
import test from 'ava';
import Database from 'better-sqlite3';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { TokenStore } from '../../src/api/tokens.ts';
import { tempDir } from '../support/tmp.ts';
import { until } from '../support/until.ts';

const run = promisify(execFile);
const fedledger = (dataDir: string, ...args: string[]) =>
  run(process.execPath, ['bin/fedledger.js', '--data-dir', dataDir, ...args], { maxBuffer: 64 << 20 });

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

async function serve(dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['bin/fedledger.js', '--data-dir', dataDir, 'serve', '--host', '127.0.0.1', '--port', String(port)],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, LOG_LEVEL: 'warn' } },
  );
  const url = `http://127.0.0.1:${port}`;
  // Refused until the server listens.
  await until(
    () =>
      fetch(`${url}/healthz`).then(
        (r) => (r.ok ? true : undefined),
        () => undefined,
      ),
    60_000,
    100,
  );
  return { url, child };
}

const jan = Date.UTC(2026, 0, 1) / 1000;
const VMS = 20;
const ROUNDS = 8;
/** Round r: VMs 0..19 report again, cumulatively (r + 1) hours each; and two VMs new in that round, 1 hour each. */
function message(round: number): string {
  const record = (vm: string, hours: number) =>
    [
      `VMUUID: ${vm}`,
      'SiteName: SITE-A',
      'FQAN: /alpha/Role=NULL',
      'GlobalUserName: alice',
      'Status: started',
      `StartTime: ${jan}`,
      `WallDuration: ${hours * 3600}`,
      `CpuDuration: ${hours * 3600}`,
      'CpuCount: 1',
      'CloudType: OpenStack',
      `RecordCreateTime: ${jan + 3600 * (round + 1)}`,
    ].join('\n');
  const records = [
    ...Array.from({ length: VMS }, (_, i) => record(`vm-${i}`, round + 1)),
    record(`vm-new-${round}-a`, 1),
    record(`vm-new-${round}-b`, 1),
  ];
  return `APEL-cloud-message: v0.4\n${records.join('\n%%\n')}\n%%\n`;
}

const SUMMARY = '{ accountingSummary(groupBy: [site, month]) { total { vms wallHours cpuHours } } }';

test('two serve processes, a loop of export runs and a rebuild on one data directory, during pushes, give the figures of one', async (t) => {
  t.timeout(240_000);
  const tmp = tempDir();
  const reference = tempDir();
  const servers: Array<{ url: string; child: ChildProcess }> = [];
  try {
    const tokens = new TokenStore(tmp.dir);
    const token = tokens.create('staff', null).token;
    tokens.close();
    servers.push(await serve(tmp.dir), await serve(tmp.dir));
    let pushing = true;
    const exports = (async () => {
      let runs = 0;
      while (pushing || runs < 2) {
        // One of the runs rebuilds the read model under the servers.
        if (runs === 1) await fedledger(tmp.dir, 'project', 'accounting', '--rebuild');
        else await fedledger(tmp.dir, 'export', 'summaries', '--format', 'json');
        runs++;
      }
      return runs;
    })();
    for (let round = 0; round < ROUNDS; round++) {
      const response = await fetch(`${servers[round % 2]!.url}/v1/apel/cloud`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: message(round),
      });
      t.is(response.status, 200);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    pushing = false;
    t.true((await exports) >= 2);

    const answers = await Promise.all(
      servers.map(({ url }) =>
        until(async () => {
          const ready = (await (await fetch(`${url}/readyz`)).json()) as { projections: Array<{ lag: string }> };
          if (!ready.projections.every((p) => p.lag === '0')) return undefined;
          const response = await fetch(`${url}/graphql`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ query: SUMMARY }),
          });
          return ((await response.json()) as { data: { accountingSummary: { total: unknown } } }).data.accountingSummary
            .total;
        }, 60_000),
      ),
    );
    // By hand: 20 VMs at their last report (8 hours each) and 16 new ones of 1 hour.
    const expected = {
      vms: String(VMS + 2 * ROUNDS),
      wallHours: VMS * ROUNDS + 2 * ROUNDS,
      cpuHours: VMS * ROUNDS + 2 * ROUNDS,
    };
    for (const answer of answers) t.like(answer, expected);

    // One process alone, on a copy of the same log.
    const log = new Database(path.join(tmp.dir, 'events.sqlite'), { readonly: true });
    await log.backup(path.join(reference.dir, 'events.sqlite'));
    log.close();
    const [shared, alone] = await Promise.all([
      fedledger(tmp.dir, 'export', 'summaries', '--format', 'json'),
      fedledger(reference.dir, 'export', 'summaries', '--format', 'json'),
    ]);
    t.deepEqual(JSON.parse(shared.stdout), JSON.parse(alone.stdout));
  } finally {
    for (const { child } of servers) child.kill('SIGTERM');
    await Promise.all(
      servers.map(
        ({ child }) => new Promise((resolve) => (child.exitCode !== null ? resolve(0) : child.once('exit', resolve))),
      ),
    );
    tmp.cleanup();
    reference.cleanup();
  }
});

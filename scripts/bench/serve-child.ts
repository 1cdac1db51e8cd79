/** `fedledger serve` in a child process on 127.0.0.1, for the benchmark and reliability scripts. */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** `fedledger serve` in a child process; its request logs go to a file, as in production (a pipe nobody drains fast enough would stall it). */
export async function startServer(
  dataDir: string,
  logLevel: string,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      // BENCH_PROFILE_DIR=<dir> writes the server's CPU profile there, to see where a request's time goes.
      ...(process.env['BENCH_PROFILE_DIR'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROFILE_DIR']}`] : []),
      'bin/fedledger.js',
      ...['--data-dir', dataDir, 'serve', '--port', String(port), '--host', '127.0.0.1'],
    ],
    {
      // The report schedule would write last month's and quarter's reports at start: work the polling clients should not share.
      // Rate limits off: the 50 simulated dashboards share eleven tokens, staff's making thousands of requests a second.
      env: {
        ...process.env,
        FEDLEDGER_LOG_LEVEL: logLevel,
        EVENTSTORE_URL: '',
        FEDLEDGER_REPORT_SCHEDULE: 'false',
        FEDLEDGER_RATE_LIMIT: '0',
      },
      stdio: ['ignore', openSync(path.join(dataDir, 'serve.log'), 'w'), 'inherit'],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    stop: () =>
      new Promise((done) => {
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

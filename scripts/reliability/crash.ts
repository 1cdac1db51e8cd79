/**
 * Crash safety, measured: the same seeded workload is loaded once without
 * interruption and then `--runs` times while the fedledger process is killed
 * with SIGKILL at seeded random moments (during `ingest apel DIR --project`,
 * `ingest probes --project`, `project --rebuild` and a `serve` receiving HTTP
 * pushes), restarting each command until it completes. Every crashed run must
 * end with the clean run's event ids, summaries, APEL summary messages and A/R.
 *
 *   npm run test:crash -- [--seed N] [--kills N] [--runs N] [--messages N] [--records N] [--pushed N]
 *     [--probe-days N] [--keep]
 *
 * Exits 1 when a run differs. Everything runs on 127.0.0.1 and stops by itself.
 */
import Database from 'better-sqlite3';
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fedledgerCommand } from '../../test/support/cli.ts';
import { prng } from '../../src/demo/federation.ts';
import { type Workload, writeWorkload } from './workload.ts';

const { values: options } = parseArgs({
  options: {
    seed: { type: 'string', default: '19' },
    kills: { type: 'string', default: '52' },
    runs: { type: 'string', default: '2' },
    messages: { type: 'string', default: '2000' },
    records: { type: 'string', default: '50000' },
    pushed: { type: 'string', default: '100' },
    'probe-days': { type: 'string', default: '5' },
    keep: { type: 'boolean', default: false },
  },
});
const count = (name: keyof typeof options) => {
  const n = Number(options[name]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, not ${String(options[name])}`);
  return n;
};
const seed = count('seed');
const killsPerRun = count('kills');
const runs = Math.max(1, count('runs'));

/** A finished fedledger process. */
interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Running {
  child: ChildProcess;
  exited: Promise<Exit>;
}

/** Every fedledger process group still running, so that none outlives the script. */
const running = new Set<ChildProcess>();

/** Starts fedledger in a process group of its own: bin/fedledger.js relaunches bulk commands in a child. */
function start(dataDir: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Running {
  const [program, programArgs] = fedledgerCommand(dataDir, args);
  const child = spawn(program, programArgs, { detached: true, env: { ...process.env, ...env } });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<Exit>((resolve) =>
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return { child, exited };
}

const killGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // The group has already gone.
  }
};

/** Exit 3 is "done, some input rejected"; the workload has none, but the comparison is what judges that. */
function finished(exit: Exit, what: string): Exit {
  if (exit.code !== 0 && exit.code !== 3)
    throw new Error(`${what} failed (${exit.code ?? exit.signal}):\n${exit.stderr.slice(-2000)}`);
  return exit;
}

const run = async (dataDir: string, args: readonly string[]) =>
  finished(await start(dataDir, args).exited, args.join(' '));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Kills and restarts `args` until it completes; at most `budget` kills, each `[0, maxDelayMs)` after its start. */
async function untilDone(
  dataDir: string,
  args: readonly string[],
  budget: number,
  maxDelayMs: number,
  random: () => number,
): Promise<number> {
  let kills = 0;
  for (;;) {
    const attempt = start(dataDir, args);
    if (kills === budget) {
      finished(await attempt.exited, args.join(' '));
      return kills;
    }
    const delay = random() * maxDelayMs;
    const outcome = await Promise.race([attempt.exited, sleep(delay).then(() => undefined)]);
    if (outcome) {
      finished(outcome, args.join(' '));
      return kills;
    }
    killGroup(attempt.child, 'SIGKILL');
    await attempt.exited;
    kills++;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 200 (bounded), failing early if the server exits. */
async function waitFor(url: string, server: Running, ms = 60_000): Promise<void> {
  let exited: Exit | undefined;
  void server.exited.then((e) => (exited = e));
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`serve exited (${exited.code ?? exited.signal}):\n${exited.stderr.slice(-2000)}`);
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  throw new Error(`${url} not ready after ${ms} ms`);
}

/**
 * Pushes `messages` in order to `serve`, which is killed `[0, maxDelayMs)` after each start while the budget lasts
 * and then restarted; a message is pushed again until it is acknowledged (200), as an SSM sender would.
 */
async function pushUntilDone(
  dataDir: string,
  token: string,
  messages: readonly string[],
  budget: number,
  maxDelayMs: number,
  random: () => number,
): Promise<number> {
  let next = 0;
  let kills = 0;
  for (;;) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = start(dataDir, ['serve', '--host', '127.0.0.1', '--port', String(port)], {
      FEDLEDGER_RATE_LIMIT: '0',
      LOG_LEVEL: 'warn',
    });
    await waitFor(`${url}/healthz`, server);
    const killing = kills < budget;
    let killed = false;
    const timer = killing
      ? sleep(random() * maxDelayMs).then(() => {
          killed = true;
          killGroup(server.child, 'SIGKILL');
        })
      : undefined;
    while (next < messages.length && !killed) {
      try {
        const response = await fetch(`${url}/v1/apel/cloud`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
          body: messages[next],
        });
        if (response.status !== 200) throw new Error(`push ${next}: ${response.status} ${await response.text()}`);
        next++;
      } catch (error) {
        if (!killed) throw error;
      }
    }
    if (timer) {
      await timer;
      await server.exited;
      kills++;
      continue;
    }
    await waitFor(`${url}/readyz`, server);
    killGroup(server.child, 'SIGTERM');
    await server.exited;
    return kills;
  }
}

/** What a run must agree on: every event id (with its type), and the exports. */
interface Outcome {
  events: string[];
  exports: Record<string, string>;
}

async function outcome(dataDir: string, workload: Workload): Promise<Outcome> {
  const db = new Database(path.join(dataDir, 'events.sqlite'), { readonly: true });
  const events = db
    .prepare<[], { e: string }>("SELECT hex(id) || ' ' || type AS e FROM events ORDER BY e")
    .all()
    .map((r) => r.e);
  db.close();
  const messages = path.join(dataDir, 'apel-summaries');
  await run(dataDir, ['export', 'apel-summaries', '--from', '2025-11', '--to', '2026-03', '--out', messages]);
  const { from, to } = workload.probeDays;
  return {
    events,
    exports: {
      summaries: (await run(dataDir, ['export', 'summaries', '--format', 'json'])).stdout,
      'apel-summaries': readdirSync(messages)
        .sort()
        .map((f) => readFileSync(path.join(messages, f), 'utf8'))
        .join(''),
      ar: (await run(dataDir, ['export', 'ar', '--from', from, '--to', to, '--format', 'csv'])).stdout,
    },
  };
}

/** A data directory with the demo federation's topology and profiles, and a staff token for pushes. */
interface Base {
  dir: string;
  token: string;
}

async function prepareBase(dir: string): Promise<Base> {
  for (const file of readdirSync('fixtures/demo/gocdb').sort())
    await run(dir, ['ingest', 'gocdb', path.join('fixtures/demo/gocdb', file)]);
  for (const file of readdirSync('fixtures/availability/profiles').sort())
    await run(dir, ['ingest', 'profiles', path.join('fixtures/availability/profiles', file)]);
  const created = await run(dir, ['token', 'create', '--role', 'staff']);
  return { dir, token: created.stdout.split('\n')[0]! };
}

const PHASES = ['ingest apel', 'ingest probes', 'project --rebuild', 'serve with pushes'] as const;
type Phase = (typeof PHASES)[number];

/**
 * Loads the workload into `dataDir`, a copy of `base`. With `kills`, each phase is interrupted (its share of the kills, and what
 * a phase could not use goes to the next) with delays below the phase's clean duration; without, it times them.
 */
async function load(
  base: Base,
  dataDir: string,
  workload: Workload,
  probesFile: string,
  crash?: { kills: number; durations: Map<Phase, number>; random: () => number },
): Promise<{ kills: number; durations: Map<Phase, number>; phaseKills: Map<Phase, number> }> {
  cpSync(base.dir, dataDir, { recursive: true });
  const durations = new Map<Phase, number>();
  const phaseKills = new Map<Phase, number>();
  let kills = 0;
  const phase = async (name: Phase, body: (budget: number, maxDelayMs: number) => Promise<number>) => {
    const started = Date.now();
    const index = PHASES.indexOf(name);
    const budget = crash ? Math.ceil((crash.kills - kills) / (PHASES.length - index)) : 0;
    const killed = await body(budget, crash?.durations.get(name) ?? 0);
    phaseKills.set(name, killed);
    kills += killed;
    durations.set(name, Date.now() - started);
  };
  const random = crash?.random ?? Math.random;
  await phase('ingest apel', (budget, maxDelayMs) =>
    untilDone(dataDir, ['ingest', 'apel', workload.apelDir, '--project'], budget, maxDelayMs, random),
  );
  await phase('ingest probes', (budget, maxDelayMs) =>
    untilDone(dataDir, ['ingest', 'probes', probesFile, '--project'], budget, maxDelayMs, random),
  );
  await phase('project --rebuild', (budget, maxDelayMs) =>
    untilDone(dataDir, ['project', '--rebuild'], budget, maxDelayMs, random),
  );
  await phase('serve with pushes', (budget, maxDelayMs) =>
    pushUntilDone(dataDir, base.token, workload.pushes, budget, Math.max(maxDelayMs, 1000), random),
  );
  return { kills, durations, phaseKills };
}

/** Where `run` differs from `clean`, one line each; empty when identical. */
function differences(clean: Outcome, crashed: Outcome): { lost: number; doubled: number; lines: string[] } {
  const have = new Set(crashed.events);
  const want = new Set(clean.events);
  const lost = clean.events.filter((e) => !have.has(e)).length;
  const doubled = crashed.events.filter((e) => !want.has(e)).length;
  const lines: string[] = [];
  if (lost || doubled) lines.push(`events: ${lost} missing, ${doubled} not in the clean run`);
  for (const [name, text] of Object.entries(clean.exports))
    if (crashed.exports[name] !== text) lines.push(`export ${name} differs`);
  return { lost, doubled, lines };
}

const phaseTimes = (durations: Map<Phase, number>, kills?: Map<Phase, number>) =>
  [...durations]
    .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s${kills ? ` ${kills.get(name)} kills` : ''}`)
    .join(', ');

const work = mkdtempSync(path.join(os.tmpdir(), 'fedledger-crash-'));
/** Stopped, or orphaned (a test runner that timed out): take the process groups along. */
const abandon = (why: string) => {
  for (const child of running) killGroup(child, 'SIGKILL');
  if (!options.keep) rmSync(work, { recursive: true, force: true });
  console.error(`stopped: ${why}`);
  process.exit(1);
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => abandon(signal));
const parent = process.ppid;
setInterval(() => process.ppid !== parent && abandon('its parent process exited'), 1000).unref();

try {
  const size = {
    messages: count('messages'),
    records: count('records'),
    pushed: count('pushed'),
    probeDays: Math.max(1, count('probe-days')),
  };
  const workload = writeWorkload(path.join(work, 'workload'), seed, size);
  const probesFile = path.join(work, 'workload', 'probes.jsonl');
  writeFileSync(probesFile, workload.probes);
  console.log(
    `seed ${seed}: ${size.messages} messages, ${size.records} records (${workload.pushes.length} messages pushed), ` +
      `${workload.probes.split('\n').length - 1} probe results; ${runs} crashed run(s) of ${killsPerRun} kills`,
  );
  const cleanDir = path.join(work, 'clean');
  const base = await prepareBase(path.join(work, 'base'));
  const timing = await load(base, cleanDir, workload, probesFile);
  const clean = await outcome(cleanDir, workload);
  console.log(`clean run: ${clean.events.length} events (${phaseTimes(timing.durations)})`);
  const random = prng(seed ^ 0x5eed);
  let kills = 0;
  let identical = 0;
  let lost = 0;
  let doubled = 0;
  for (let i = 1; i <= runs; i++) {
    const dir = path.join(work, `run-${i}`);
    const loaded = await load(base, dir, workload, probesFile, {
      kills: killsPerRun,
      durations: timing.durations,
      random,
    });
    const diff = differences(clean, await outcome(dir, workload));
    kills += loaded.kills;
    lost += diff.lost;
    doubled += diff.doubled;
    if (diff.lines.length === 0) identical++;
    console.log(
      `run ${i}: ${loaded.kills} kills (${phaseTimes(loaded.durations, loaded.phaseKills)}), ` +
        (diff.lines.length ? diff.lines.join('; ') : 'identical'),
    );
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `kills: ${kills}, runs identical: ${identical}/${runs}, events lost: ${lost}, events doubled: ${doubled}`,
  );
  process.exitCode = identical === runs ? 0 : 1;
} finally {
  if (options.keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

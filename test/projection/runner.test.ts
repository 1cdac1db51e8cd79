import test from 'ava';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { SqliteEventLog } from '../../src/eventlog/sqlite.ts';
import type { EventFilter, EventLog, ReadAllOptions, RecordedEvent } from '../../src/eventlog/port.ts';
import type { Projection } from '../../src/projection/projection.ts';
import { BATCH_SIZE as B, ProjectionRunner, type BatchCommitted } from '../../src/projection/runner.ts';
import { tallyProjection } from '../support/tally-projection.ts';
import { tempDir } from '../support/tmp.ts';
import { until } from '../support/until.ts';
import { streams, vmStateEvents } from '../support/vm-events.ts';
import { encode } from '../../src/events/codec.ts';

function tally(db: Database.Database): Record<string, number> {
  const rows = db.prepare('SELECT stream, events FROM tally ORDER BY stream').all() as {
    stream: string;
    events: number;
  }[];
  return Object.fromEntries(rows.map((r) => [r.stream, r.events]));
}

async function seed(log: EventLog, vms: number, perVm: number): Promise<void> {
  await Promise.all(
    Array.from({ length: vms }, (_, v) => log.append(streams.vm(`vm-${v}`), vmStateEvents(`vm-${v}`, perVm))),
  );
}

test('catch-up applies every event once, in batches, and a second catch-up applies nothing', async (t) => {
  const tmp = tempDir();
  const log = new SqliteEventLog(path.join(tmp.dir, 'events.sqlite'));
  const perVm = B + B / 5;
  await seed(log, 3, perVm);
  const runner = new ProjectionRunner(log, tallyProjection(), path.join(tmp.dir, 'projections'));
  const batches: BatchCommitted[] = [];
  runner.on('committed', (b) => batches.push(b));
  t.is(await runner.catchUp(), 3 * perVm);
  t.is(runner.checkpoint, await log.headPosition());
  t.deepEqual(tally(runner.db), { 'vm-vm-0': perVm, 'vm-vm-1': perVm, 'vm-vm-2': perVm });
  t.deepEqual(
    batches.map((b) => b.events),
    [B, B, B, (3 * B) / 5],
  );
  t.true(batches[0]!.topics.includes('stream:vm-vm-0'));
  t.is(await runner.catchUp(), 0);
  await runner.close();
  await log.close();
  tmp.cleanup();
});

test('a redelivered event id (as EventStoreDB may store a re-sent event twice) is applied once', async (t) => {
  const tmp = tempDir();
  const real = new SqliteEventLog(path.join(tmp.dir, 'events.sqlite'));
  await seed(real, 1, 3);
  // Deliver the stored events, then the first one again at a later position.
  const stored: RecordedEvent[] = [];
  for await (const e of real.readAll()) stored.push(e);
  const redelivered = [...stored, { ...stored[0]!, position: stored[2]!.position + 1n }];
  const log: EventLog = Object.assign(Object.create(real) as EventLog, {
    kind: 'eventstoredb',
    headPosition: async () => redelivered.at(-1)!.position,
    async *readAll(options: ReadAllOptions = {}) {
      for (const e of redelivered) if (e.position >= (options.fromPosition ?? 0n)) yield e;
    },
  });
  const runner = new ProjectionRunner(log, tallyProjection(), path.join(tmp.dir, 'projections'));
  await runner.catchUp();
  t.deepEqual(tally(runner.db), { 'vm-vm-0': 3 });
  t.is(runner.checkpoint, redelivered.at(-1)!.position);
  await runner.close();
  await real.close();
  tmp.cleanup();
});

test('live: events appended after start are applied and announced', async (t) => {
  const tmp = tempDir();
  const log = new SqliteEventLog(path.join(tmp.dir, 'events.sqlite'));
  await seed(log, 1, 5);
  const runner = new ProjectionRunner(log, tallyProjection(), path.join(tmp.dir, 'projections'));
  await runner.catchUp();
  runner.start();
  const committed = new Promise<BatchCommitted>((resolve) => runner.once('committed', resolve));
  await log.append(streams.vm('vm-new'), vmStateEvents('vm-new', 2));
  const batch = await committed;
  t.is(batch.events, 2);
  t.deepEqual(batch.topics, ['stream:vm-vm-new']);
  t.is(tally(runner.db)['vm-vm-new'], 2);
  await runner.close();
  await log.close();
  tmp.cleanup();
});

test('live, far behind the head: full batches and one flush timer per batch, not one per event', async (t) => {
  const tmp = tempDir();
  const log = new SqliteEventLog(path.join(tmp.dir, 'events.sqlite'));
  await seed(log, 4, B);
  const runner = new ProjectionRunner(log, tallyProjection(), path.join(tmp.dir, 'projections'));
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();
  const sizes: number[] = [];
  let most = 0;
  const done = new Promise<void>((resolve) =>
    runner.on('committed', (b) => {
      sizes.push(b.events);
      // Events arrive as microtasks while the runner lags: timers made meanwhile are all still pending here.
      most = Math.max(most, timers() - before);
      if (sizes.reduce((a, n) => a + n, 0) === 4 * B) resolve();
    }),
  );
  runner.start();
  await done;
  t.deepEqual(sizes, Array(4).fill(B));
  t.true(most <= 2, `${most} timers pending`);
  t.deepEqual(tally(runner.db), { 'vm-vm-0': B, 'vm-vm-1': B, 'vm-vm-2': B, 'vm-vm-3': B });
  await runner.close();
  await log.close();
  tmp.cleanup();
});
test('live: a batch that fails to apply is reported as an error, and nothing of it is committed', async (t) => {
  const tmp = tempDir();
  const log = new SqliteEventLog(path.join(tmp.dir, 'events.sqlite'));
  await seed(log, 1, 3);
  let failing = false;
  const runner = new ProjectionRunner(
    log,
    tallyProjection(1, () => {
      if (failing) throw new Error('cannot apply');
    }),
    path.join(tmp.dir, 'projections'),
  );
  await runner.catchUp();
  const before = runner.checkpoint;
  const reported = new Promise<unknown>((resolve) => runner.once('error', resolve));
  runner.start();
  failing = true;
  await log.append(streams.vm('vm-new'), vmStateEvents('vm-new', 2));
  t.is(((await reported) as Error).message, 'cannot apply');
  t.is(runner.checkpoint, before);
  t.deepEqual(tally(runner.db), { 'vm-vm-0': 3 });
  await runner.close();
  await log.close();
  tmp.cleanup();
});

test('a new projection version is rebuilt side by side while the old read model keeps serving', async (t) => {
  const tmp = tempDir();
  const dir = path.join(tmp.dir, 'projections');
  const log = new SqliteEventLog(path.join(tmp.dir, 'events.sqlite'));
  await seed(log, 2, 1500);
  const v1 = new ProjectionRunner(log, tallyProjection(1), dir);
  await v1.catchUp();
  const file = v1.file;
  await v1.close();
  const reader = new Database(file, { readonly: true });
  const v2 = new ProjectionRunner(log, tallyProjection(2), dir);
  let servedDuringRebuild: unknown[] = [];
  await v2.catchUp(() => {
    servedDuringRebuild = reader.prepare('SELECT DISTINCT version FROM tally').pluck().all();
  });
  t.deepEqual(servedDuringRebuild, [1]);
  t.deepEqual(v2.db.prepare('SELECT DISTINCT version FROM tally').pluck().all(), [2]);
  t.deepEqual(tally(v2.db), { 'vm-vm-0': 1500, 'vm-vm-1': 1500 });
  reader.close();
  await v2.close();
  await log.close();
  tmp.cleanup();
});

function runChild(dataDir: string, killAt?: number): Promise<'killed' | 'done'> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/project-child.ts', dataDir], {
      env: { ...process.env, KILL_AT: killAt ? String(killAt) : '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('MIDBATCH')) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve('killed');
      else if (code === 0 && out.includes('DONE')) resolve('done');
      else reject(new Error(`child exited with ${code ?? signal}: ${out}`));
    });
  });
}

test('SIGKILL in the middle of a batch, then restart: equals a clean rebuild', async (t) => {
  const tmp = tempDir();
  const log = new SqliteEventLog(path.join(tmp.dir, 'events.sqlite'));
  await seed(log, 10, B / 2);
  const head = await log.headPosition();
  await log.close();

  t.is(await runChild(tmp.dir, 2 * B + (7 * B) / 10), 'killed');
  const afterCrash = new Database(path.join(tmp.dir, 'projections', 'tally.sqlite'), { readonly: true });
  const checkpoint = afterCrash.prepare("SELECT value FROM projection_meta WHERE key = 'checkpoint'").pluck().get();
  const countedAfterCrash = afterCrash.prepare('SELECT count(*) FROM seen').pluck().get();
  afterCrash.close();
  t.is(countedAfterCrash, 2 * B, 'only the two committed batches survive');
  t.not(BigInt(checkpoint as string), head);

  t.is(await runChild(tmp.dir), 'done');
  const clean = tempDir();
  const reopened = new SqliteEventLog(path.join(tmp.dir, 'events.sqlite'));
  const rebuild = new ProjectionRunner(reopened, tallyProjection(), path.join(clean.dir, 'projections'));
  await rebuild.catchUp();
  const recovered = new Database(path.join(tmp.dir, 'projections', 'tally.sqlite'), { readonly: true });
  const dump = (db: Database.Database) => ({
    tally: tally(db),
    seen: db.prepare('SELECT event_id, position FROM seen ORDER BY position').all(),
  });
  t.deepEqual(dump(recovered), dump(rebuild.db));
  t.is(dump(recovered).seen.length, 5 * B);
  recovered.close();
  await rebuild.close();
  await reopened.close();
  clean.cleanup();
  tmp.cleanup();
});

test("a catch-up asks for the whole log's head, reads past other projections' events once, and keeps its own checkpoint", async (t) => {
  const tmp = tempDir();
  const real = new SqliteEventLog(path.join(tmp.dir, 'events.sqlite'));
  await seed(real, 1, 3);
  const ownLast = await real.headPosition();
  const others = Array.from({ length: 3000 }, (_, i) =>
    encode(
      'ProbeResultRecorded',
      {
        timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString().replace('.000Z', 'Z'),
        hostname: 'cloud.example.org',
        service: 'org.openstack.nova',
        metric: 'org.nagios.Keystone-TCP',
        status: 'OK',
        summary: '',
        message: '',
        monitoringHost: 'test',
      },
      [i],
    ),
  );
  await real.append('probes-cloud.example.org/org.openstack.nova', others);
  const calls = { readAll: 0, typedHead: 0 };
  // A typed head looks at the type of every event appended since it was last asked: a fresh process paid a full scan.
  const log: EventLog = Object.assign(Object.create(real) as EventLog, {
    readAll: (options?: ReadAllOptions) => (calls.readAll++, real.readAll(options)),
    headPosition: (filter?: EventFilter) => (filter && calls.typedHead++, real.headPosition(filter)),
  });
  const dir = path.join(tmp.dir, 'projections');
  const first = new ProjectionRunner(log, tallyProjection(), dir);
  t.is(await first.catchUp(), 3);
  t.is(first.checkpoint, ownLast);
  await first.close();
  const again = new ProjectionRunner(log, tallyProjection(), dir);
  t.is(await again.catchUp(), 0);
  t.deepEqual(calls, { readAll: 1, typedHead: 0 });
  t.is(again.checkpoint, ownLast);
  await real.append(streams.vm('vm-late'), vmStateEvents('vm-late', 2));
  t.is(await again.catchUp(), 2);
  t.deepEqual(calls, { readAll: 2, typedHead: 0 });
  t.deepEqual(tally(again.db), { 'vm-vm-0': 3, 'vm-vm-late': 2 });
  await again.close();
  await real.close();
  tmp.cleanup();
});

const counted = (db: Database.Database) => db.prepare('SELECT coalesce(sum(events), 0) FROM tally').pluck().get();

test('two runners on one file (two processes) apply interleaved batches once each: no event twice, none skipped', async (t) => {
  const tmp = tempDir();
  const dir = path.join(tmp.dir, 'projections');
  const log = new SqliteEventLog(path.join(tmp.dir, 'events.sqlite'));
  await seed(log, 2, 50);
  // Both opened before either applied anything: each holds the file's state as it was then.
  const a = new ProjectionRunner(log, tallyProjection(), dir);
  const b = new ProjectionRunner(log, tallyProjection(), dir);
  const errors: unknown[] = [];
  for (const r of [a, b]) r.on('error', (e) => errors.push(e));
  t.is(await a.catchUp(), 100);
  // b's checkpoint in memory is -1: it must not apply what a applied.
  await b.catchUp();
  t.is(counted(a.db), 100);
  a.start();
  b.start();
  for (let round = 0; round < 6; round++) {
    await log.append(streams.vm(`vm-live-${round}`), vmStateEvents(`vm-live-${round}`, 30));
    if (round % 2) await new Promise((resolve) => setTimeout(resolve, 60));
    // A third applier catching up in between, as a CLI command does while servers follow the log.
    const c = new ProjectionRunner(log, tallyProjection(), dir);
    await c.catchUp();
    await c.close();
  }
  const head = await log.headPosition();
  await until(() => (a.checkpoint === head && b.checkpoint === head) || undefined);
  await new Promise((resolve) => setTimeout(resolve, 150));
  t.is(counted(a.db), 100 + 6 * 30);
  t.is(counted(b.db), 100 + 6 * 30);
  t.is(b.db.prepare('SELECT count(*) FROM seen').pluck().get(), 100 + 6 * 30);
  t.deepEqual(errors, []);
  await a.close();
  await b.close();
  await log.close();
  tmp.cleanup();
});

test('a rebuild in one process while another follows the log: the follower goes on from the rebuilt file', async (t) => {
  const tmp = tempDir();
  const dir = path.join(tmp.dir, 'projections');
  const log = new SqliteEventLog(path.join(tmp.dir, 'events.sqlite'));
  await seed(log, 2, 40);
  const server = new ProjectionRunner(log, tallyProjection(), dir);
  const errors: unknown[] = [];
  server.on('error', (e) => errors.push(e));
  await server.catchUp();
  server.start();
  const rebuilder = new ProjectionRunner(log, tallyProjection(), dir);
  await rebuilder.rebuild();
  await rebuilder.close();
  await log.append(streams.vm('vm-after'), vmStateEvents('vm-after', 25));
  const head = await log.headPosition();
  await until(() => (server.checkpoint === head && counted(server.db) === 105) || undefined);
  await new Promise((resolve) => setTimeout(resolve, 150));
  const expected = { 'vm-vm-0': 40, 'vm-vm-1': 40, 'vm-vm-after': 25 };
  t.deepEqual(tally(server.db), expected);
  // What any other process opening the read model now reads: the follower wrote into the file, not a replaced one.
  const reader = new Database(server.file, { readonly: true });
  t.deepEqual(tally(reader), expected);
  t.is(reader.pragma('integrity_check', { simple: true }), 'ok');
  reader.close();
  t.deepEqual(errors, []);
  t.deepEqual(
    readdirSync(dir).filter((f) => f.includes('.rebuild-')),
    [],
  );
  await server.close();
  await log.close();
  tmp.cleanup();
});

test('live: a failing batch (a full disk) is reported at once and retried with backoff until it commits', async (t) => {
  const tmp = tempDir();
  const log = new SqliteEventLog(path.join(tmp.dir, 'events.sqlite'));
  await seed(log, 1, 3);
  let failuresLeft = 0;
  const runner = new ProjectionRunner(
    log,
    tallyProjection(1, () => {
      if (failuresLeft > 0) {
        failuresLeft--;
        throw new Database.SqliteError('database or disk is full', 'SQLITE_FULL');
      }
    }),
    path.join(tmp.dir, 'projections'),
    { retryFirstMs: 20, retryMaxMs: 100 },
  );
  await runner.catchUp();
  const errors: unknown[] = [];
  runner.on('error', (e) => errors.push(e));
  runner.start();
  failuresLeft = 3;
  await log.append(streams.vm('vm-new'), vmStateEvents('vm-new', 4));
  await until(() => runner.failure);
  t.regex(runner.failure!.reason, /^SQLITE_FULL: database or disk is full/);
  const head = await log.headPosition();
  await until(() => runner.checkpoint === head || undefined);
  t.is(runner.failure, undefined);
  t.is(runner.failures, 3);
  t.is(errors.length, 3);
  t.deepEqual(tally(runner.db), { 'vm-vm-0': 3, 'vm-vm-new': 4 });
  await runner.close();
  await log.close();
  tmp.cleanup();
});

test('a catch-up whose batch did not commit leaves nothing in memory: the next one opens the projection afresh', async (t) => {
  const tmp = tempDir();
  const log = new SqliteEventLog(path.join(tmp.dir, 'events.sqlite'));
  await seed(log, 1, 3);
  let opened = 0;
  let failing = true;
  // Counts in memory, as a projection's cache of what its file holds would, and stores the count per batch.
  const counting: Projection = {
    name: 'counting',
    version: 1,
    eventTypes: ['VmStateChanged'],
    setup: (db) => db.exec('CREATE TABLE counted (n INTEGER NOT NULL); INSERT INTO counted VALUES (0);'),
    open(db) {
      opened++;
      let n = db.prepare('SELECT n FROM counted').pluck().get() as number;
      const save = db.prepare('UPDATE counted SET n = ?');
      return {
        apply(batch) {
          n += batch.length;
          if (failing) throw new Error('cannot apply');
          save.run(n);
        },
      };
    },
  };
  const runner = new ProjectionRunner(log, counting, path.join(tmp.dir, 'projections'));
  await t.throwsAsync(runner.catchUp(), { message: 'cannot apply' });
  failing = false;
  await runner.catchUp();
  t.is(runner.db.prepare('SELECT n FROM counted').pluck().get(), 3);
  t.is(opened, 2);
  await runner.close();
  await log.close();
  tmp.cleanup();
});

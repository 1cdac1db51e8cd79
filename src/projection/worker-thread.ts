/**
 * The body of a projection worker thread (see worker.ts): it opens its own
 * connection to the event log and its projection's runner, follows the log
 * live, and on `finish` catches up to the head and closes. Messages in both
 * directions are the types exported here.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openEventLog, type EventLogConfig } from '../eventlog/open.ts';
import { findProjection, projectionsDir } from './registry.ts';
import { ProjectionRunner } from './runner.ts';

export interface WorkerSetup {
  config: EventLogConfig;
  projection: string;
}

export type WorkerCommand = { type: 'finish' };

export type WorkerReport =
  | { type: 'finished'; applied: number; checkpoint: bigint }
  | { type: 'failed'; message: string; stack: string | undefined };

const port = parentPort!;
const setup = workerData as WorkerSetup;
const send = (report: WorkerReport) => port.postMessage(report);
const fail = (error: unknown) =>
  send({
    type: 'failed',
    message: error instanceof Error ? error.message : String(error),
    stack: (error as Error).stack,
  });

try {
  const projection = findProjection(setup.projection);
  if (!projection) throw new Error(`no projection named ${setup.projection}`);
  const log = await openEventLog(setup.config);
  const runner = new ProjectionRunner(log, projection, projectionsDir(setup.config.dataDir));
  let following = false;
  let applied = 0;
  runner.on('committed', (batch) => {
    if (following) applied += batch.events;
  });
  runner.on('error', fail);
  // A changed version rebuilds before following, as a catch-up in the parent would.
  applied = await runner.catchUp();
  following = true;
  runner.start();
  port.on('message', (command: WorkerCommand) => {
    if (command.type !== 'finish') return;
    void (async () => {
      await runner.stop();
      following = false;
      applied += await runner.catchUp();
      const checkpoint = runner.checkpoint;
      await runner.close();
      await log.close();
      send({ type: 'finished', applied, checkpoint });
      port.close();
    })().catch(fail);
  });
} catch (error) {
  fail(error);
  port.close();
}

/**
 * A projection run on a worker thread, so it applies events on the
 * machine's other core while this thread appends them (`ingest --project`,
 * the benchmarks' end-to-end figures). The thread has its own connections to
 * the event log and the read model, and projects it safely beside other
 * projectors of the same file (see runner.ts).
 */
import type { Worker } from 'node:worker_threads';
import type { EventLogConfig } from '../eventlog/open.ts';
import { startModuleWorker } from '../module-worker.ts';
import type { WorkerCommand, WorkerReport, WorkerSetup } from './worker-thread.ts';

export interface WorkerFinished {
  projection: string;
  /** Events applied by the worker, from its start to its finish. */
  applied: number;
  checkpoint: bigint;
}

export class ProjectionWorker {
  private readonly worker: Worker;
  private readonly done: Promise<WorkerFinished>;

  /** Starts the thread: it catches the projection up, then follows the log until `finish()`. */
  constructor(
    config: EventLogConfig,
    readonly projection: string,
  ) {
    const setup: WorkerSetup = { config: { dataDir: config.dataDir, eventstoreUrl: config.eventstoreUrl }, projection };
    this.worker = startModuleWorker(new URL('./worker-thread.ts', import.meta.url), setup);
    this.done = new Promise<WorkerFinished>((resolve, reject) => {
      let finished: WorkerFinished | undefined;
      this.worker.on('message', (report: WorkerReport) => {
        if (report.type === 'finished')
          finished = { projection, applied: report.applied, checkpoint: report.checkpoint };
        else {
          reject(Object.assign(new Error(`projection ${projection}: ${report.message}`), { stack: report.stack }));
          void this.worker.terminate();
        }
      });
      this.worker.on('error', reject);
      this.worker.on('exit', (code) =>
        finished ? resolve(finished) : reject(new Error(`projection ${projection}: worker exited (${code})`)),
      );
    });
    // Rejections surface through finish(); until then they must not crash the process.
    this.done.catch(() => undefined);
  }

  /** Catches up to the head of the log as it is now, closes the thread, and says what it applied. */
  finish(): Promise<WorkerFinished> {
    const command: WorkerCommand = { type: 'finish' };
    this.worker.postMessage(command);
    return this.done;
  }
}

/**
 * Runs `work` (an ingest) while the named projections follow the log on worker threads, then brings them to the
 * head. They are finished even when the work fails, so the read models match what was appended; the work's error
 * is then the one thrown.
 */
export async function projectingAlongside<T>(
  config: EventLogConfig,
  projections: readonly string[],
  work: () => Promise<T>,
): Promise<{ result: T; projected: WorkerFinished[] }> {
  const workers = projections.map((name) => new ProjectionWorker(config, name));
  let result: T;
  try {
    result = await work();
  } catch (error) {
    await Promise.allSettled(workers.map((w) => w.finish()));
    throw error;
  }
  return { result, projected: await Promise.all(workers.map((w) => w.finish())) };
}

/**
 * Resolvers' synchronous work (SQLite reads, A/R arithmetic) taken in turns:
 * each event-loop turn runs queued resolvers for at most `sliceMs`, then
 * lets I/O, timers and health checks run before the next turn. A request
 * whose signal has aborted (its timeout passed, its client went away) has
 * its queued resolvers dropped unrun, so a timed-out query stops costing CPU.
 */
import { GraphQLError } from 'graphql';

type Turn = () => void;

export class WorkQueue {
  private readonly turns: Turn[] = [];
  private scheduled = false;

  constructor(private readonly sliceMs = 10) {}

  /** Resolvers waiting for their turn. */
  get pending(): number {
    return this.turns.length;
  }

  run<T>(signal: AbortSignal, work: () => T): Promise<Awaited<T>> {
    return new Promise((resolve, reject) => {
      this.turns.push(() => {
        if (signal.aborted) {
          reject(abortedError(signal));
          return;
        }
        try {
          resolve(work() as Awaited<T>);
        } catch (error) {
          reject(error as Error);
        }
      });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // An immediate queued while immediates run waits for the next loop turn: I/O is polled in between.
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    const until = performance.now() + this.sliceMs;
    do this.turns.shift()!();
    while (this.turns.length > 0 && performance.now() < until);
    if (this.turns.length > 0) this.schedule();
  }
}

function abortedError(signal: AbortSignal): GraphQLError {
  const reason: unknown = signal.reason;
  return reason instanceof GraphQLError
    ? reason
    : new GraphQLError('the request was cancelled', { extensions: { code: 'CANCELLED' } });
}

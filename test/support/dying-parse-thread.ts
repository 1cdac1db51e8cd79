/** A parser thread that answers its first two batches as the real one does, then exits with code 3. */
import { parentPort } from 'node:worker_threads';

await import('../../src/ingest/preparers/worker-thread.ts');
let batches = 0;
// After the real thread's own listener: the second batch is answered, then the thread exits.
parentPort!.on('message', () => {
  batches += 1;
  if (batches === 2) process.exit(3);
});

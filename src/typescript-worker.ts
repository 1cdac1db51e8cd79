/**
 * Worker threads whose body is a TypeScript module. A worker does not inherit
 * the loader bin/fedledger.js registered on the main thread, so each one
 * registers tsx before it imports its module.
 */
import { Worker } from 'node:worker_threads';

export function startTypeScriptWorker(module: URL, workerData: unknown): Worker {
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then((tsx) => { tsx.register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}

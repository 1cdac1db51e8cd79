/**
 * Worker threads whose body is one of fedledger's modules, named by its
 * source file (`new URL('./x.ts', import.meta.url)`). Running the build
 * (dist/), the body is the compiled `x.js` beside this compiled module. In
 * development (sources run through tsx) a worker does not inherit the loader
 * registered on the main thread, so each one registers tsx before it imports
 * its module.
 */
import { Worker } from 'node:worker_threads';

const compiled = import.meta.url.endsWith('.js');

export function startModuleWorker(module: URL, workerData: unknown): Worker {
  if (compiled) return new Worker(new URL(module.href.replace(/\.ts$/, '.js')), { workerData });
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then((tsx) => { tsx.register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}

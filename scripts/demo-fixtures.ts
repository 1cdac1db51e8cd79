/**
 * Writes the demo federation as it is at DEMO_FIXTURE_END into fixtures/demo/ (`npm run demo:fixtures`), the sample
 * input of tests and benchmarks; deterministic, so re-running changes nothing. `fedledger demo` generates its own, up
 * to the hour it is started.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_FIXTURE_END, demoFederation } from '../src/demo/federation.ts';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/demo');
rmSync(dir, { recursive: true, force: true });
let bytes = 0;
const { files } = demoFederation(DEMO_FIXTURE_END);
for (const [name, content] of Object.entries(files)) {
  mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  writeFileSync(path.join(dir, name), content);
  bytes += Buffer.byteLength(content);
}
process.stdout.write(`${Object.keys(files).length} files, ${(bytes / 1e6).toFixed(2)} MB in ${dir}\n`);

/** Writes the demo federation into fixtures/demo/ (`npm run demo:fixtures`); deterministic, so re-running changes nothing. */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoFederation } from '../src/demo/federation.ts';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/demo');
rmSync(dir, { recursive: true, force: true });
let bytes = 0;
const files = demoFederation();
for (const [name, content] of Object.entries(files)) {
  mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  writeFileSync(path.join(dir, name), content);
  bytes += Buffer.byteLength(content);
}
process.stdout.write(`${Object.keys(files).length} files, ${(bytes / 1e6).toFixed(2)} MB in ${dir}\n`);

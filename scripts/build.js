// `npm run build` (and `prepare`): compiles src/ and projections/ to dist/ with tsc. Type errors are `npm run
// typecheck`'s to report (tsconfig.json covers the tests and scripts too), so the build only emits (--noCheck).
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { BUILD_STAMP } from '../bin/build-freshness.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const started = new Date();
rmSync(path.join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--noCheck'], { stdio: 'inherit' });
const stamp = path.join(root, BUILD_STAMP);
closeSync(openSync(stamp, 'w'));
// A source saved while tsc ran is newer than the stamp, so the next start finds the build stale.
utimesSync(stamp, started, started);

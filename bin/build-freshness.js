// Whether dist/ was built from the sources beside it. In a checkout (src/ present) a source changed after the last
// `npm run build` means dist/ would run other code than what is read and tested; an installed package has no
// sources and nothing to compare.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Written by scripts/build.js; its modification time is when that build started. */
export const BUILD_STAMP = path.join('dist', 'BUILT');
const SOURCES = ['src', 'projections', 'tsconfig.json', 'tsconfig.build.json'];

function* files(entry) {
  if (!statSync(entry).isDirectory()) {
    yield entry;
    return;
  }
  for (const child of readdirSync(entry, { withFileTypes: true })) yield* files(path.join(entry, child.name));
}

/** Why dist/ under `root` cannot run (one line), or undefined when it can. */
export function unfitBuild(root) {
  if (!existsSync(path.join(root, 'src'))) return undefined;
  const stamp = path.join(root, BUILD_STAMP);
  if (!existsSync(stamp)) return 'there is no build in dist/: run `npm run build` (npm install does it too)';
  const built = statSync(stamp).mtimeMs;
  for (const source of SOURCES) {
    const top = path.join(root, source);
    if (!existsSync(top)) continue;
    for (const file of files(top))
      if (statSync(file).mtimeMs > built)
        return `dist/ is older than ${path.relative(root, file)}, changed after the last build: run \`npm run build\``;
  }
  return undefined;
}

/**
 * Files fedledger ships beside its code (graphql/, fixtures/). The code runs
 * from src/ in development and from dist/src/ when built, so a path relative
 * to a module's own location would differ between the two; these are
 * relative to the package root instead.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const codeRoot = path.dirname(here);

/** The directory holding package.json: the parent of src/, or of dist/ when running the build. */
export const PACKAGE_ROOT = path.basename(codeRoot) === 'dist' ? path.dirname(codeRoot) : codeRoot;

export function packagePath(...segments: string[]): string {
  return path.join(PACKAGE_ROOT, ...segments);
}

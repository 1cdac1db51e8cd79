// Which commands bin/fedledger.js relaunches with a 64 MiB young generation (see there why they want one).
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

// An ingest of less input than V8's default young generation (16 MiB) holds gains less from a larger one than a
// second node start costs (a tenth of a second, a sixth of a small load's target): it runs in this process.
// `project` reads the event log, whose size this does not look at: it is always relaunched.
const SMALL_INPUT_BYTES = 16 * 2 ** 20;

/** Bytes of input in the paths given, counted up to `limit`; a FIFO or device (unknown length) counts as `limit`. */
function inputBytes(paths, limit) {
  let total = 0;
  const add = (p) => {
    let stat;
    try {
      stat = statSync(p);
    } catch {
      return; // not a path (a subcommand or an option), or one the command itself will report
    }
    if (stat.isFile()) total += stat.size;
    else if (!stat.isDirectory()) total = limit;
    else for (const name of readdirSync(p)) if (total < limit) add(path.join(p, name));
  };
  for (const p of paths) if (total < limit) add(p);
  return total;
}

/** `project`, and an `ingest` of at least SMALL_INPUT_BYTES: its arguments after `ingest`, but the data directory. */
export function needsYoungGeneration(args) {
  if (args.includes('project')) return true;
  if (!args.includes('ingest')) return false;
  const inputs = args
    .slice(args.indexOf('ingest') + 1)
    .filter((a, i, all) => a !== '--data-dir' && all[i - 1] !== '--data-dir');
  return inputBytes(inputs, SMALL_INPUT_BYTES) >= SMALL_INPUT_BYTES;
}

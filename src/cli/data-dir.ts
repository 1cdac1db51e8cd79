/**
 * Which commands may create a data directory. Commands that write (ingest,
 * collect, token create, serve, demo) create a missing one and say so;
 * commands that read refuse one that holds no event log, so a mistyped path
 * is an error instead of an empty answer.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.ts';
import { UserError } from '../errors.ts';
import { EVENTLOG_FILE } from '../eventlog/files.ts';

/** Creates `dir` when it is missing, with a note on `stderr`. */
export function createDataDir(dir: string, stderr: NodeJS.WritableStream): void {
  if (existsSync(dir)) return;
  mkdirSync(dir, { recursive: true });
  stderr.write(`fedledger: created data directory ${dir}\n`);
}

/** Refuses a data directory that does not hold `file` (by default the event log; with EventStoreDB, nothing). */
export function requireDataFile(config: Config, file = EVENTLOG_FILE, what = 'no event log'): void {
  if (config.eventstoreUrl && file === EVENTLOG_FILE) return;
  if (existsSync(path.join(config.dataDir, file))) return;
  const where = existsSync(config.dataDir)
    ? `${config.dataDir} holds ${what} (${file})`
    : `${config.dataDir} does not exist`;
  throw new UserError(
    'NO_DATA_DIR',
    `data directory ${where}: give the right one with --data-dir or FEDLEDGER_DATA_DIR, or ingest data into it first`,
    { message: config.dataDir, field: 'data-dir' },
  );
}

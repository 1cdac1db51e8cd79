/**
 * The SQLite files of a data directory, what each one is, how to repair it
 * when it is damaged, and how to tell whether it is (`fedledger check`).
 */
import Database from 'better-sqlite3';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { TOKENS_FILE } from '../api/token-roles.ts';
import { EVENTLOG_FILE, EVENTLOG_REMEDY } from '../eventlog/files.ts';
import { projectionsDir } from '../projection/registry.ts';
import { isCorruption, isSqliteError, storageError } from '../storage-errors.ts';

export interface DataFile {
  file: string;
  role: 'event log' | 'read model' | 'tokens' | 'other';
  /** What to do when the file is damaged. */
  remedy: string;
}

/** Events read back from the log's end by `check`: the most recent writes are where a torn or bad write shows. */
const TAIL_EVENTS = 1000;

export function dataFileOf(dataDir: string, file: string): DataFile {
  if (file === path.join(dataDir, EVENTLOG_FILE)) return { file, role: 'event log', remedy: EVENTLOG_REMEDY };
  if (file === path.join(dataDir, TOKENS_FILE))
    return {
      file,
      role: 'tokens',
      remedy: 'restore it from a backup, or remove it and create the tokens again with `fedledger token create`',
    };
  if (path.dirname(file) === projectionsDir(dataDir)) {
    const name = path.basename(file, '.sqlite');
    return {
      file,
      role: 'read model',
      remedy: `rebuild it from the event log with \`fedledger project ${name} --rebuild\``,
    };
  }
  return { file, role: 'other', remedy: 'restore it from a backup' };
}

/** Every SQLite file of the data directory (the event log first), not their -wal and -shm companions. */
export function dataFiles(dataDir: string): DataFile[] {
  const inDir = (dir: string) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((name) => name.endsWith('.sqlite'))
          .sort()
          .map((name) => path.join(dir, name))
      : [];
  const files = [...inDir(dataDir), ...inDir(projectionsDir(dataDir))].map((f) => dataFileOf(dataDir, f));
  return files.sort((a, b) => Number(b.role === 'event log') - Number(a.role === 'event log'));
}

/** What is wrong with one file: SQLite's integrity check, and for the event log a read of its last events. */
export function fileProblems(dataFile: DataFile): string[] {
  let db: Database.Database | undefined;
  try {
    db = new Database(dataFile.file, { readonly: true, fileMustExist: true });
    const found = (db.pragma('integrity_check') as { integrity_check: string }[])
      .map((r) => r.integrity_check)
      .filter((r) => r !== 'ok');
    if (found.length === 0 && dataFile.role === 'event log') {
      const tail = db
        .prepare('SELECT position, data, metadata FROM events ORDER BY position DESC LIMIT ?')
        .all(TAIL_EVENTS) as { position: number; data: string; metadata: string | null }[];
      for (const row of tail) {
        try {
          JSON.parse(row.data);
          if (row.metadata !== null) JSON.parse(row.metadata);
        } catch (error) {
          found.push(`event at position ${row.position} is not JSON: ${(error as Error).message}`);
        }
      }
    }
    return found;
  } catch (error) {
    return [isSqliteError(error) ? `${error.message} [${error.code}]` : (error as Error).message];
  } finally {
    db?.close();
  }
}

/**
 * A SQLite failure whose file is not known, as a user error naming the file: a damaged file is found by checking
 * them all; a full or read-only disk is named by the data directory.
 */
export function explainStorageFailure(error: unknown, dataDir: string): unknown {
  if (!isSqliteError(error)) return error;
  if (isCorruption(error)) {
    const damaged = dataFiles(dataDir).find((f) => fileProblems(f).length > 0);
    if (damaged) return storageError(error, damaged.file, damaged.remedy) ?? error;
  }
  return storageError(error, dataDir, 'run `fedledger check` to find the damaged file') ?? error;
}

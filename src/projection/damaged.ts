/**
 * A damaged read-model file is set aside so that a fresh one is rebuilt from
 * the event log: read models are disposable, the log is the record. The damaged
 * file is kept beside (renamed) for whoever wants to look at it.
 */
import Database from 'better-sqlite3';
import { existsSync, renameSync } from 'node:fs';
import { DateTime } from 'luxon';
import { isCorruption } from '../storage-errors.ts';

/** What SQLite's quick check finds wrong with `file`, empty when it is sound (or absent). */
function problems(file: string): string[] {
  if (!existsSync(file)) return [];
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    return (db.pragma('quick_check') as { quick_check: string }[]).map((r) => r.quick_check).filter((r) => r !== 'ok');
  } catch (error) {
    if (isCorruption(error)) return [(error as Error).message];
    throw error;
  } finally {
    db?.close();
  }
}

/**
 * Renames `file` (with its WAL files) to `<file>.damaged-<UTC time>` when SQLite finds it damaged, and says so
 * through `warn`; returns the new name, or undefined when the file is sound.
 */
export function setAsideIfDamaged(file: string, warn: (message: string) => void): string | undefined {
  const found = problems(file);
  if (found.length === 0) return undefined;
  const aside = `${file}.damaged-${DateTime.utc().toFormat("yyyyLLdd'T'HHmmss")}`;
  for (const suffix of ['-wal', '-shm']) if (existsSync(file + suffix)) renameSync(file + suffix, aside + suffix);
  renameSync(file, aside);
  warn(
    `read model ${file} is damaged (${found.slice(0, 3).join('; ')}): moved to ${aside}, ` +
      'rebuilding it from the event log',
  );
  return aside;
}

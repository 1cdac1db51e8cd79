/**
 * SQLite failures of a data file as user errors: what went wrong (damaged
 * file, full disk, read-only directory), which file, and what to do. SQLite's
 * own errors name no file, and most of them are the operator's to fix.
 */
import Database from 'better-sqlite3';
import { accessSync, constants, statfsSync } from 'node:fs';
import path from 'node:path';
import { UserError } from './errors.ts';

/** Below this much free space a failed write is taken to be a full disk (SQLite reports some as I/O errors). */
const NEARLY_FULL_BYTES = 1024 * 1024;

export function isSqliteError(error: unknown): error is InstanceType<typeof Database.SqliteError> {
  return error instanceof Database.SqliteError;
}

export function isCorruption(error: unknown): boolean {
  return isSqliteError(error) && (error.code.startsWith('SQLITE_CORRUPT') || error.code === 'SQLITE_NOTADB');
}

function freeBytes(dir: string): number | undefined {
  try {
    const fs = statfsSync(dir);
    return fs.bavail * fs.bsize;
  } catch {
    return undefined;
  }
}

function writable(target: string): boolean {
  try {
    accessSync(target, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The user error for a SQLite failure on `file` (a data file, or the data directory when the file is not known),
 * or undefined when `error` is not one the operator can act on. `whenDamaged` says how to repair a damaged file.
 */
export function storageError(error: unknown, file: string, whenDamaged: string): UserError | undefined {
  if (!isSqliteError(error)) return undefined;
  const { code, message } = error;
  const dir = path.extname(file) ? path.dirname(file) : file;
  const location = { message: file };
  if (isCorruption(error))
    return new UserError('FILE_CORRUPT', `${file} is damaged (${message}): ${whenDamaged}`, location);
  const free = freeBytes(dir);
  if (code === 'SQLITE_FULL' || (code.startsWith('SQLITE_IOERR') && free !== undefined && free < NEARLY_FULL_BYTES))
    return new UserError(
      'DISK_FULL',
      `no space left on the filesystem of ${file} (${message}): free some space and run the command again`,
      location,
    );
  if (code.startsWith('SQLITE_READONLY') || (code === 'SQLITE_CANTOPEN' && !(writable(dir) && writable(file))))
    return new UserError(
      'DATA_DIR_READ_ONLY',
      `${file} cannot be written (${message}): fedledger needs write access to ${dir} and its files, ` +
        'also to read (SQLite keeps its write-ahead log beside each file, and read models catch up before they answer)',
      location,
    );
  if (code.startsWith('SQLITE_IOERR'))
    return new UserError('FILE_IO_ERROR', `${file} could not be read or written (${message}) [${code}]`, location);
  if (code === 'SQLITE_CANTOPEN')
    return new UserError('FILE_CANNOT_OPEN', `${file} cannot be opened (${message})`, location);
  return undefined;
}

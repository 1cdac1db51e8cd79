/**
 * Which failures of a push mean "the store cannot take writes for now" rather than a fault in fedledger: a full
 * disk, a store locked for longer than the busy timeout, an unreachable EventStoreDB. The push answers 503 with the
 * reason and a Retry-After, so a site's sender retries; re-sent records are not stored twice (event ids are
 * derived from their content), so whatever part of the message was stored before the failure is harmless.
 */
import { EventLogUnavailableError } from '../eventlog/port.ts';

export interface StoreUnavailable {
  code: 'STORE_FULL' | 'STORE_BUSY' | 'EVENTLOG_UNAVAILABLE';
  message: string;
  retryAfterSeconds: number;
}

/** SQLite's and the file system's codes, on the error or the error it wraps. */
function codesOf(error: unknown): string[] {
  const codes: string[] = [];
  for (
    let e = error, depth = 0;
    e && typeof e === 'object' && depth < 4;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
  }
  return codes;
}

export function storeUnavailable(error: unknown): StoreUnavailable | undefined {
  const codes = codesOf(error);
  if (codes.some((c) => c === 'SQLITE_FULL' || c === 'ENOSPC'))
    return {
      code: 'STORE_FULL',
      message: 'the event store cannot grow (disk full): nothing more is stored until space is freed; send again later',
      retryAfterSeconds: 60,
    };
  if (codes.some((c) => c.startsWith('SQLITE_BUSY')))
    return {
      code: 'STORE_BUSY',
      message: 'the event store stayed locked by another writer; send again',
      retryAfterSeconds: 5,
    };
  if (error instanceof EventLogUnavailableError)
    return { code: 'EVENTLOG_UNAVAILABLE', message: error.message, retryAfterSeconds: 10 };
  return undefined;
}

import { badInput } from '../accounting.ts';
import type { ApiContext } from '../context.ts';

/** A requested page size, defaulted and bounded by the configured maximum. */
export function pageSize(ctx: ApiContext, first: number | null | undefined): number {
  const { defaultPageSize, maxPageSize } = ctx.services.config;
  if (first === null || first === undefined) return defaultPageSize;
  if (first < 1 || first > maxPageSize) throw badInput(`first must be between 1 and ${maxPageSize}`, 'first');
  return first;
}

/** An opaque cursor for a row's listing key. */
export const encodeCursor = (key: readonly (string | number)[]) =>
  Buffer.from(JSON.stringify(key)).toString('base64url');

/** The listing key in a cursor this server issued (checked by `isKey`), or a bad-input error naming `after`. */
export function decodeCursor<K>(cursor: string, isKey: (value: unknown) => value is K): K {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (isKey(value)) return value;
  } catch {
    // Reported below as a bad cursor.
  }
  throw badInput('after is not a cursor this server issued', 'after');
}

import { badInput } from '../accounting.ts';
import type { ApiContext } from '../context.ts';

/** A requested page size, defaulted and bounded by the configured maximum. */
export function pageSize(ctx: ApiContext, first: number | null | undefined): number {
  const { defaultPageSize, maxPageSize } = ctx.services.config;
  if (first === null || first === undefined) return defaultPageSize;
  if (first < 1 || first > maxPageSize) throw badInput(`first must be between 1 and ${maxPageSize}`, 'first');
  return first;
}

/**
 * Accounting input at the API boundary: the GraphQL filter's months checked
 * and turned into the read model's typed filter (projections/accounting/queries.ts),
 * and the bad-input error every resolver reports.
 */
import { GraphQLError } from 'graphql';
import { parseYearMonth, type YearMonth } from '../accounting/measurement.ts';
import type { UsageFilter } from '../../projections/accounting/queries.ts';

// The API's figures are the read model's (codegen maps the schema's UsageFigures here).
export type { UsageFigures } from '../../projections/accounting/queries.ts';

export const badInput = (message: string, field: string) =>
  new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', field } });

function yearMonth(text: string | null | undefined, field: string): YearMonth | undefined {
  if (text === null || text === undefined) return undefined;
  const ym = parseYearMonth(text);
  if (ym === null) throw badInput(`${field} must be YYYY-MM, got ${JSON.stringify(text)}`, field);
  return ym;
}

/** A filter as GraphQL takes it: months as YYYY-MM. */
export type UsageFilterInput = Omit<UsageFilter, 'from' | 'to'> & { from?: string | null; to?: string | null };

export function usageFilter({ from, to, ...rest }: UsageFilterInput): UsageFilter {
  return { ...rest, from: yearMonth(from, 'from'), to: yearMonth(to, 'to') };
}

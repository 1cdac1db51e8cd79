/** What resolvers pass down to their children (codegen maps these schema types to them). */
import type { VmMonthRow } from '../../projections/accounting/schema.ts';
import type { SummaryKey, UsageFigures, UsageFilter } from '../../projections/accounting/queries.ts';

export interface SummaryRowModel {
  key: SummaryKey;
  figures: UsageFigures;
  /** The (already scoped) filter the row was computed under; its drill-down adds the key. */
  filter: UsageFilter;
}

export type VmMonthModel = VmMonthRow;

export interface SiteModel {
  name: string;
  ngi: string | null;
  country: string | null;
}

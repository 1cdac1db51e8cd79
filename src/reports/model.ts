/**
 * The typed content of a technical board report, independent of any output
 * format. Figures are exact (hours as fractions, percentages unrounded);
 * renderers round them with the column formats of `tables`.
 */
import type { IntegrationState } from '../integration/status.ts';
import type { PeriodKind } from './period.ts';

/** EGI resource centre OLA targets, in percent (DOMAIN §3). */
export interface Targets {
  availability: number;
  reliability: number;
  /** Maximum share of the period with UNKNOWN or MISSING status. */
  unknown: number;
}

export const DEFAULT_TARGETS: Targets = { availability: 80, reliability: 85, unknown: 10 };

export interface UsageFigures {
  /** Sum of monthly VM counts (a VM running in three months of a quarter counts three times, as in the EGI portal). */
  vms: number;
  wallHours: number;
  /** Wall hours × CpuCount. */
  cpuCoreHours: number;
}

export interface SiteReport {
  site: string;
  /** The NGI, when GOCDB told us. */
  ngi: string | null;
  usage: UsageFigures;
  /** Percentages over the period; null when undefined (no known status at all). */
  availability: number | null;
  reliability: number | null;
  /** Percentage of the period with UNKNOWN or MISSING status; null when the site is not monitored. */
  unknown: number | null;
  /** Why the site misses the targets; empty when it meets them. */
  shortfalls: string[];
}

export interface ResourceCentre {
  site: string;
  /** A cloud VM-management endpoint is registered in GOCDB, in production and monitored. */
  registered: boolean;
  /** The monitoring reported a known status for it in the period. */
  monitored: boolean;
  /** It published usage measured in the period. */
  published: boolean;
  active: boolean;
}

export interface Membership {
  /** Active in this period. */
  active: string[];
  /** Active now but not in the previous period. */
  joined: string[];
  /** Active in the previous period but not now. */
  left: string[];
}

/** A resource centre's integration state at the period's end (docs/onboarding.md) and what changed in the period. */
export interface Participant {
  site: string;
  state: IntegrationState;
  /** The UTC day it entered that state; null when nothing dates it. */
  since: string | null;
  /** joined, completed integration, lapsed, left, or empty. */
  change: string;
}

/** A community that ran VMs in the period. */
export interface UserCommunity {
  vo: string;
  /** YYYY-MM: the first and last month with VM-months, up to the period's end. */
  firstUsage: string;
  lastUsage: string;
  /** The sites it ran VMs at in the period. */
  sites: string[];
  /** Wall hours in the period. */
  vmHours: number;
}

export interface ReportContent {
  period: { name: string; kind: PeriodKind; from: string; to: string; months: string[] };
  previousPeriod: string;
  /** Log position the figures were computed at (decimal). */
  position: string;
  targets: Targets;
  totals: { current: UsageFigures; previous: UsageFigures };
  /** Federation usage per month over the trailing year, oldest first. */
  monthly: Array<{ month: string } & UsageFigures>;
  sites: SiteReport[];
  /** Sites whose monthly availability was below the target in each of the three months ending with the period. */
  threeMonthsUnder: Array<{ site: string; months: Array<{ month: string; availability: number }> }>;
  communities: Array<{ vo: string; sites: number } & UsageFigures>;
  resourceCentres: ResourceCentre[];
  activeSites: Membership;
  activeCommunities: Membership;
  participants: Participant[];
  userCommunities: UserCommunity[];
  dataQuality: {
    silentPublishers: Array<{ site: string; lastReceived: string | null }>;
    quarantine: Array<{ site: string; rejected: number; unresolved: number }>;
    /** Per kind of input (probe-result, gocdb) and publisher: lines, elements or documents rejected in the period. */
    rejectedInputs: Array<{ input: string; publisher: string; rejected: number; firstError: string }>;
    negativeDifferences: Array<{ site: string; vmUuid: string; month: string; detail: string }>;
  };
}

/** How a column's values are written: rounding is fixed per format, so output is byte-stable. */
export type CellFormat = 'text' | 'int' | 'hours' | 'percent' | 'change' | 'flag';

export type Cell = string | number | boolean | null;

export interface Column {
  key: string;
  header: string;
  format: CellFormat;
  /** A per-row override, for a column whose rows measure different things (the totals). */
  formatFor?: (row: Record<string, Cell>) => CellFormat;
  /** What an empty value means, for a person reading the report (CSV and JSON keep it empty). */
  whenEmpty?: string;
}

export interface Table {
  /** File stem of the table's CSV and JSON. */
  name: string;
  title: string;
  columns: Column[];
  rows: Array<Record<string, Cell>>;
}

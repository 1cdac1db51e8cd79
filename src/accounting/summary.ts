/**
 * VM-months, monthly differences and the monthly cloud summary (DOMAIN §2),
 * as pure functions over plain values. The accounting projection maintains
 * the same figures incrementally; these are the reference it is tested against.
 */
import type { CloudUsageRecord } from '../events/catalogue.ts';
import { splitYearMonth, type YearMonth } from './measurement.ts';

/** The cumulative figures that are differenced month to month. */
export const CUMULATIVE = ['wallDuration', 'cpuDuration', 'networkInbound', 'networkOutbound'] as const;
export type CumulativeField = (typeof CUMULATIVE)[number];
export type Figures = Record<CumulativeField, number | null>;

/** The kept record of one (site, VMUUID, month), with what the summary needs. */
export interface VmMonth extends Figures {
  vmUuid: string;
  ym: YearMonth;
  /** Log position of the kept record: the larger, the more recently received. */
  keptPosition: number;
  siteName: string;
  cloudComputeService: string | null;
  globalUserName: string | null;
  vo: string | null;
  voGroup: string | null;
  voRole: string | null;
  status: string | null;
  imageId: string | null;
  cpuCount: number | null;
  benchmarkType: string | null;
  benchmark: number | null;
  cloudType: string | null;
  startTime: number | null;
  memory: number | null;
  disk: number | null;
}

/** A cumulative figure minus the previous kept month's (0 when there is none); null stays null, negatives are kept. */
export function difference(current: number | null, previous: number | null | undefined): number | null {
  return current === null ? null : current - (previous ?? 0);
}

export function monthlyDifferences(current: Figures, previous: Figures | undefined): Figures {
  return {
    wallDuration: difference(current.wallDuration, previous?.wallDuration),
    cpuDuration: difference(current.cpuDuration, previous?.cpuDuration),
    networkInbound: difference(current.networkInbound, previous?.networkInbound),
    networkOutbound: difference(current.networkOutbound, previous?.networkOutbound),
  };
}

/**
 * Whether two VM-months are of one VM. A VMUUID is chosen by a site's VM manager and nothing authenticates it, so a
 * VM is a site's VMUUID: another site's record with the same VMUUID is another VM (docs/accounting.md).
 */
const sameVm = (a: Pick<VmMonth, 'siteName' | 'vmUuid'>, b: Pick<VmMonth, 'siteName' | 'vmUuid'>) =>
  a.siteName === b.siteName && a.vmUuid === b.vmUuid;

const compareText = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
const byVmThenMonth = (a: VmMonth, b: VmMonth) =>
  compareText(a.siteName, b.siteName) || compareText(a.vmUuid, b.vmUuid) || a.ym - b.ym;

/**
 * Each kept VM-month with its monthly differences, taken against the previous kept month of the same VM (same
 * site and VMUUID): the input `summarise` takes. Ordered by site, VMUUID and month.
 */
export function withMonthlyDifferences(months: readonly VmMonth[]): { vm: VmMonth; diff: Figures }[] {
  const ordered = [...months].sort(byVmThenMonth);
  return ordered.map((vm, i) => {
    const previous = ordered[i - 1];
    return { vm, diff: monthlyDifferences(vm, previous && sameVm(previous, vm) ? previous : undefined) };
  });
}

export function hasNegative(diff: Figures): boolean {
  return CUMULATIVE.some((f) => (diff[f] ?? 0) < 0);
}

/** APEL's grouping columns, in its order. Benchmark defaults to 0 as in APEL's tables (v0.2 records have none). */
export function groupKeyValues(m: VmMonth): (string | number | null)[] {
  return [
    m.siteName,
    m.cloudComputeService,
    m.ym,
    m.globalUserName,
    m.vo,
    m.voGroup,
    m.voRole,
    m.status,
    m.imageId,
    m.cpuCount,
    m.benchmarkType,
    m.benchmark ?? 0,
  ];
}

export function groupKey(m: VmMonth): string {
  return JSON.stringify(groupKeyValues(m));
}

export interface SummaryRow {
  siteName: string;
  cloudComputeService: string | null;
  year: number;
  month: number;
  globalUserName: string | null;
  vo: string | null;
  voGroup: string | null;
  voRole: string | null;
  status: string | null;
  cloudType: string | null;
  imageId: string | null;
  earliestStartTime: number | null;
  latestStartTime: number | null;
  wallDuration: number | null;
  cpuDuration: number | null;
  cpuCount: number | null;
  networkInbound: number | null;
  networkOutbound: number | null;
  memory: number | null;
  disk: number | null;
  benchmarkType: string | null;
  benchmark: number;
  numberOfVms: number;
}

/** SQL SUM semantics: null when every term is null. */
const addNullable = (a: number | null, b: number | null) => (b === null ? a : (a ?? 0) + b);
const pick = (a: number | null, b: number | null, f: (x: number, y: number) => number) =>
  a === null ? b : b === null ? a : f(a, b);

/**
 * Groups VM-months (each with its monthly differences) into summary rows.
 * CloudType is that of the most recently received record in the group.
 */
export function summarise(months: readonly { vm: VmMonth; diff: Figures }[]): SummaryRow[] {
  const groups = new Map<string, { row: SummaryRow; cloudPosition: number }>();
  for (const { vm, diff } of months) {
    const key = groupKey(vm);
    let g = groups.get(key);
    if (!g) {
      const { year, month } = splitYearMonth(vm.ym);
      g = {
        cloudPosition: -1,
        row: {
          siteName: vm.siteName,
          cloudComputeService: vm.cloudComputeService,
          year,
          month,
          globalUserName: vm.globalUserName,
          vo: vm.vo,
          voGroup: vm.voGroup,
          voRole: vm.voRole,
          status: vm.status,
          cloudType: null,
          imageId: vm.imageId,
          earliestStartTime: null,
          latestStartTime: null,
          wallDuration: null,
          cpuDuration: null,
          cpuCount: vm.cpuCount,
          networkInbound: null,
          networkOutbound: null,
          memory: null,
          disk: null,
          benchmarkType: vm.benchmarkType,
          benchmark: vm.benchmark ?? 0,
          numberOfVms: 0,
        },
      };
      groups.set(key, g);
    }
    const r = g.row;
    r.numberOfVms += 1;
    for (const f of CUMULATIVE) r[f] = addNullable(r[f], diff[f]);
    r.memory = addNullable(r.memory, vm.memory);
    r.disk = addNullable(r.disk, vm.disk);
    r.earliestStartTime = pick(r.earliestStartTime, vm.startTime, Math.min);
    r.latestStartTime = pick(r.latestStartTime, vm.startTime, Math.max);
    if (vm.keptPosition > g.cloudPosition) {
      g.cloudPosition = vm.keptPosition;
      r.cloudType = vm.cloudType;
    }
  }
  return sortSummaries([...groups.values()].map((g) => g.row));
}

const SORT_FIELDS = [
  'siteName',
  'year',
  'month',
  'cloudComputeService',
  'globalUserName',
  'vo',
  'voGroup',
  'voRole',
  'status',
  'imageId',
  'cpuCount',
  'benchmarkType',
  'benchmark',
] as const;

function compareNullable(a: string | number | null, b: string | number | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

/** A stable, documented output order: site, year, month, then the other grouping columns (nulls first). */
export function sortSummaries(rows: SummaryRow[]): SummaryRow[] {
  return rows.sort((x, y) => {
    for (const f of SORT_FIELDS) {
      const c = compareNullable(x[f], y[f]);
      if (c !== 0) return c;
    }
    return 0;
  });
}

/** The VM-month a kept record makes. */
export function vmMonthOf(r: CloudUsageRecord, ym: YearMonth, keptPosition: number): VmMonth {
  return {
    vmUuid: r.vmUuid,
    ym,
    keptPosition,
    siteName: r.siteName,
    cloudComputeService: r.cloudComputeService,
    globalUserName: r.globalUserName,
    vo: r.vo,
    voGroup: r.voGroup,
    voRole: r.voRole,
    status: r.status,
    imageId: r.imageId,
    cpuCount: r.cpuCount,
    benchmarkType: r.benchmarkType,
    benchmark: r.benchmark,
    cloudType: r.cloudType,
    startTime: r.startTime,
    memory: r.memory,
    disk: r.disk,
    wallDuration: r.wallDuration,
    cpuDuration: r.cpuDuration,
    networkInbound: r.networkInbound,
    networkOutbound: r.networkOutbound,
  };
}

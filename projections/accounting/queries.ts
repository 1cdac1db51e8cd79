/**
 * Every read of the `accounting` read model, for the CLI, the API and the
 * reports: APEL summary rows, portal-style figures grouped by any dimensions,
 * VM-months (a VM's, or pages of them in keyset order), data-quality flags,
 * the quarantine, and when each site's records arrived. Filters arrive as
 * typed values (months as YearMonth) and are bound as parameters.
 */
import type Database from 'better-sqlite3';
import { formatYearMonth, parseYearMonth, type YearMonth } from '../../src/accounting/measurement.ts';
import { type Figures, sortSummaries, type SummaryRow } from '../../src/accounting/summary.ts';
import type { RecordError } from '../../src/events/catalogue.ts';
import { diffsOf, figuresOf, type FlagRow, type SummaryTableRow, type VmMonthRow } from './schema.ts';

/** Prepared statements per read-model connection: filters produce a handful of distinct SQL texts, each prepared once. */
const statements = new WeakMap<Database.Database, Map<string, Database.Statement>>();
function prepared(db: Database.Database, sql: string): Database.Statement {
  let byText = statements.get(db);
  if (!byText) statements.set(db, (byText = new Map()));
  let stmt = byText.get(sql);
  if (!stmt) byText.set(sql, (stmt = db.prepare(sql)));
  return stmt;
}

export interface SummaryFilter {
  from?: YearMonth;
  to?: YearMonth;
  site?: string;
}

const sumOrNull = (sum: number, n: number) => (n > 0 ? sum : null);

/** Summary rows in the given month range (inclusive) and site, in `sortSummaries` order. */
export function querySummaries(db: Database.Database, filter: SummaryFilter = {}): SummaryRow[] {
  const rows = prepared(
    db,
    'SELECT * FROM acc_summaries WHERE ym >= @from AND ym <= @to AND (@site IS NULL OR site_name = @site)',
  ).all({ from: filter.from ?? 0, to: filter.to ?? 999_999, site: filter.site ?? null }) as SummaryTableRow[];
  return sortSummaries(
    rows.map((r) => ({
      siteName: r.site_name,
      cloudComputeService: r.cloud_compute_service,
      year: Math.floor(r.ym / 100),
      month: r.ym % 100,
      globalUserName: r.global_user_name,
      vo: r.vo,
      voGroup: r.vo_group,
      voRole: r.vo_role,
      status: r.status,
      cloudType: r.cloud_type,
      imageId: r.image_id,
      earliestStartTime: r.earliest_start,
      latestStartTime: r.latest_start,
      wallDuration: sumOrNull(r.wall, r.wall_n),
      cpuDuration: sumOrNull(r.cpu, r.cpu_n),
      cpuCount: r.cpu_count,
      networkInbound: sumOrNull(r.net_in, r.net_in_n),
      networkOutbound: sumOrNull(r.net_out, r.net_out_n),
      memory: sumOrNull(r.memory, r.memory_n),
      disk: sumOrNull(r.disk, r.disk_n),
      benchmarkType: r.benchmark_type,
      benchmark: r.benchmark,
      numberOfVms: r.vms,
    })),
  );
}

export interface VmMonthView {
  vmUuid: string;
  ym: YearMonth;
  siteName: string;
  status: string | null;
  keptEventId: string;
  cumulative: Figures;
  difference: Figures;
}

/** The VM-months of one site's VM, oldest first. */
export function queryVmMonths(db: Database.Database, siteName: string, vmUuid: string): VmMonthView[] {
  const rows = db
    .prepare('SELECT * FROM acc_vm_months WHERE site_name = ? AND vm_uuid = ? ORDER BY ym')
    .all(siteName, vmUuid) as VmMonthRow[];
  return rows.map((r) => ({
    vmUuid: r.vm_uuid,
    ym: r.ym,
    siteName: r.site_name,
    status: r.status,
    keptEventId: r.kept_event_id,
    cumulative: figuresOf(r),
    difference: diffsOf(r),
  }));
}

export interface QualityFlag {
  kind: string;
  siteName: string;
  vmUuid: string;
  ym: YearMonth | null;
  eventId: string | null;
  detail: string;
}

export function queryQualityFlags(db: Database.Database, site?: string): QualityFlag[] {
  return (
    db
      .prepare(
        'SELECT * FROM acc_flags WHERE (@site IS NULL OR site_name = @site) ORDER BY site_name, vm_uuid, ym, kind, id',
      )
      .all({ site: site ?? null }) as FlagRow[]
  ).map((r) => ({
    kind: r.kind,
    siteName: r.site_name,
    vmUuid: r.vm_uuid,
    ym: r.ym,
    eventId: r.event_id,
    detail: r.detail,
  }));
}

export interface QuarantinedRecord {
  sourceMessageId: string;
  /** null: the message as a whole was unreadable. */
  recordIndex: number | null;
  line: number | null;
  lastLine: number | null;
  siteName: string | null;
  /** The record's text, cut at RECORD_EXCERPT_CHARS; the message's full text stays in the event log. */
  recordExcerpt: string;
  recordLength: number;
  errors: RecordError[];
  receivedAt: string;
  publisher: string;
  resolution: string | null;
}

export interface QuarantineFilter {
  site?: string | null;
  includeResolved?: boolean;
  /** Only this message's records. */
  sourceMessageId?: string;
}

/** Where a quarantined record sorts in listings: receipt, message, record. */
export type QuarantineKey = [receivedAt: string, sourceMessageId: string, recordIndex: number];

interface QuarantineRow {
  source_message_id: string;
  record_index: number;
  line: number | null;
  last_line: number | null;
  site_name: string | null;
  record_excerpt: string;
  record_length: number;
  errors: string;
  received_at: string;
  publisher: string;
  resolution: string | null;
}

const quarantinedRecord = (r: QuarantineRow): QuarantinedRecord => ({
  sourceMessageId: r.source_message_id,
  recordIndex: r.record_index === 0 ? null : r.record_index,
  line: r.line,
  lastLine: r.last_line,
  siteName: r.site_name,
  recordExcerpt: r.record_excerpt,
  recordLength: r.record_length,
  errors: JSON.parse(r.errors) as RecordError[],
  receivedAt: r.received_at,
  publisher: r.publisher,
  resolution: r.resolution,
});

/** The quarantined records matching `filter` in listing order, after `after` and at most `limit` (all: no limit). */
export function queryQuarantine(
  db: Database.Database,
  filter: QuarantineFilter = {},
  page: { after?: QuarantineKey; limit?: number } = {},
): QuarantinedRecord[] {
  const [afterReceived, afterMessage, afterIndex] = page.after ?? [null, null, null];
  const rows = db
    .prepare(
      `SELECT * FROM acc_quarantine WHERE (@site IS NULL OR site_name = @site) AND (@all = 1 OR resolution IS NULL)
         AND (@message IS NULL OR source_message_id = @message)
         AND (@afterReceived IS NULL OR (received_at, source_message_id, record_index) > (@afterReceived, @afterMessage, @afterIndex))
       ORDER BY received_at, source_message_id, record_index LIMIT @limit`,
    )
    .all({
      site: filter.site ?? null,
      all: filter.includeResolved ? 1 : 0,
      message: filter.sourceMessageId ?? null,
      afterReceived,
      afterMessage,
      afterIndex,
      limit: page.limit ?? -1,
    }) as QuarantineRow[];
  return rows.map(quarantinedRecord);
}

/** The listing key of a quarantined record (a cursor's content). */
export const quarantineKey = (q: QuarantinedRecord): QuarantineKey => [
  q.receivedAt,
  q.sourceMessageId,
  q.recordIndex ?? 0,
];

/** One quarantined record, or undefined. */
export function findQuarantined(
  db: Database.Database,
  sourceMessageId: string,
  recordIndex: number | null,
): QuarantinedRecord | undefined {
  const row = db
    .prepare('SELECT * FROM acc_quarantine WHERE source_message_id = ? AND record_index = ?')
    .get(sourceMessageId, recordIndex ?? 0) as QuarantineRow | undefined;
  return row && quarantinedRecord(row);
}

/** The dimensions summaries are grouped and drilled down by, and their columns (in acc_summaries and acc_vm_months). */
export const DIMENSIONS = {
  site: 'site_name',
  vo: 'vo',
  user: 'global_user_name',
  month: 'ym',
  status: 'status',
  image: 'image_id',
  cloudType: 'cloud_type',
  service: 'cloud_compute_service',
} as const;
export type Dimension = keyof typeof DIMENSIONS;
/** A summary row's values of its dimensions, months as YYYY-MM. */
export type SummaryKey = Partial<Record<Dimension, string | null>>;

export interface UsageFilter {
  sites?: readonly string[] | null;
  services?: readonly string[] | null;
  vos?: readonly string[] | null;
  users?: readonly string[] | null;
  statuses?: readonly string[] | null;
  from?: YearMonth | undefined;
  to?: YearMonth | undefined;
  /** Exact values (null included) of a summary row's key, as `summarise` answered it: the drill-down. */
  key?: SummaryKey;
}

export interface UsageFigures {
  vms: number;
  wallHours: number;
  cpuHours: number;
  coreHours: number;
  memoryMb: number;
  diskGb: number;
  networkInGb: number;
  networkOutGb: number;
}

/** WHERE clause and parameters for a filter (acc_summaries and acc_vm_months share these column names). */
function where(filter: UsageFilter): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const inList = (column: string, values: readonly string[] | null | undefined) => {
    if (!values) return;
    if (values.length === 0) clauses.push('0');
    else {
      clauses.push(`${column} IN (${values.map(() => '?').join(', ')})`);
      params.push(...values);
    }
  };
  inList('site_name', filter.sites);
  inList('cloud_compute_service', filter.services);
  inList('vo', filter.vos);
  inList('global_user_name', filter.users);
  inList('status', filter.statuses);
  if (filter.from !== undefined) {
    clauses.push('ym >= ?');
    params.push(filter.from);
  }
  if (filter.to !== undefined) {
    clauses.push('ym <= ?');
    params.push(filter.to);
  }
  for (const [dimension, value] of Object.entries(filter.key ?? {}) as Array<[Dimension, string | null]>) {
    clauses.push(`${DIMENSIONS[dimension]} IS ?`);
    params.push(dimension === 'month' && value !== null ? parseYearMonth(value) : value);
  }
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

// Monthly differences, summed per summary group; core hours = elapsed x cores (CpuCount is part of the group key).
const FIGURES_SQL = `
  COALESCE(SUM(vms), 0) AS vms,
  COALESCE(SUM(wall), 0) / 3600.0 AS wallHours,
  COALESCE(SUM(cpu), 0) / 3600.0 AS cpuHours,
  COALESCE(SUM(wall * COALESCE(cpu_count, 0)), 0) / 3600.0 AS coreHours,
  COALESCE(SUM(memory), 0) AS memoryMb,
  COALESCE(SUM(disk), 0) AS diskGb,
  COALESCE(SUM(net_in), 0) AS networkInGb,
  COALESCE(SUM(net_out), 0) AS networkOutGb`;

/** Grouped figures; at most `limit` rows are read (the caller learns there were more from getting `limit` of them). */
export function summarise(
  db: Database.Database,
  filter: UsageFilter,
  groupBy: readonly Dimension[],
  limit = Number.MAX_SAFE_INTEGER,
): { rows: Array<{ key: SummaryKey; figures: UsageFigures }>; total: UsageFigures } {
  const dims = [...new Set(groupBy)];
  const { sql, params } = where(filter);
  const total = prepared(db, `SELECT ${FIGURES_SQL} FROM acc_summaries ${sql}`).get(...params) as UsageFigures;
  if (dims.length === 0) return { rows: [{ key: {}, figures: total }], total };
  const columns = dims.map((d) => `${DIMENSIONS[d]} AS ${d}`).join(', ');
  const order = dims.map((d) => DIMENSIONS[d]).join(', ');
  const rows = prepared(
    db,
    `SELECT ${columns}, ${FIGURES_SQL} FROM acc_summaries ${sql} GROUP BY ${order} ORDER BY ${order} LIMIT ?`,
  ).all(...params, limit) as Array<Record<string, unknown>>;
  return {
    total,
    rows: rows.map((r) => {
      const key: SummaryKey = {};
      for (const d of dims)
        key[d] = r[d] === null ? null : d === 'month' ? formatYearMonth(r[d] as number) : String(r[d]);
      const { vms, wallHours, cpuHours, coreHours, memoryMb, diskGb, networkInGb, networkOutGb } =
        r as unknown as UsageFigures;
      return { key, figures: { vms, wallHours, cpuHours, coreHours, memoryMb, diskGb, networkInGb, networkOutGb } };
    }),
  };
}

/** Where a VM-month sorts in pages: site, VMUUID, month. */
export type VmMonthKey = [siteName: string, vmUuid: string, ym: YearMonth];

export const vmMonthKey = (r: VmMonthRow): VmMonthKey => [r.site_name, r.vm_uuid, r.ym];

/** One page of VM-months after `after`, in (site, VMUUID, month) order: a VM's index order, so a page costs one index range. */
export function vmMonthPage(
  db: Database.Database,
  filter: UsageFilter,
  first: number,
  after: VmMonthKey | undefined,
): { rows: VmMonthRow[]; hasNextPage: boolean } {
  const w = where(filter);
  let sql = w.sql;
  const params = [...w.params];
  if (after) {
    sql = `${sql ? `${sql} AND` : 'WHERE'} (site_name, vm_uuid, ym) > (?, ?, ?)`;
    params.push(...after);
  }
  const rows = prepared(db, `SELECT * FROM acc_vm_months ${sql} ORDER BY site_name, vm_uuid, ym LIMIT ?`).all(
    ...params,
    first + 1,
  ) as VmMonthRow[];
  const hasNextPage = rows.length > first;
  if (hasNextPage) rows.pop();
  return { rows, hasNextPage };
}

/** The sites that reported a VMUUID: each has a VM of its own by that VMUUID. */
export function vmUuidSites(db: Database.Database, vmUuid: string): string[] {
  return (
    prepared(db, 'SELECT site_name FROM acc_vm_sites WHERE vm_uuid = ?').all(vmUuid) as Array<{
      site_name: string;
    }>
  ).map((r) => r.site_name);
}

/** The VOs of a site's VM, over its months. */
export function vmVos(db: Database.Database, siteName: string, vmUuid: string): Array<string | null> {
  return (
    prepared(db, 'SELECT DISTINCT vo FROM acc_vm_months WHERE site_name = ? AND vm_uuid = ?').all(
      siteName,
      vmUuid,
    ) as Array<{ vo: string | null }>
  ).map((r) => r.vo);
}

/** The flags of one VM-month. */
export function flagsOf(db: Database.Database, siteName: string, vmUuid: string, ym: YearMonth): FlagRow[] {
  return prepared(
    db,
    `SELECT kind, site_name, vm_uuid, ym, event_id, detail FROM acc_flags WHERE site_name = ? AND vm_uuid = ? AND ym = ?
     ORDER BY kind, id`,
  ).all(siteName, vmUuid, ym) as FlagRow[];
}

/** Per site, when its latest record received before `before` (epoch seconds) arrived; in site order. */
export function lastReceived(db: Database.Database, before: number): Array<{ site: string; at: number }> {
  return (
    db
      .prepare(
        'SELECT site_name, max(received_at) AS at FROM acc_receipts WHERE received_at < ? GROUP BY site_name ORDER BY site_name',
      )
      .all(before) as Array<{ site_name: string; at: number }>
  ).map((r) => ({ site: r.site_name, at: r.at }));
}

/** Whether any usage record of the site was received. */
export function siteReported(db: Database.Database, site: string): boolean {
  return db.prepare('SELECT 1 FROM acc_receipts WHERE site_name = ? LIMIT 1').get(site) !== undefined;
}

/**
 * Accounting reads for the API, over the `accounting` read model's tables
 * (projections/accounting.ts): portal-style summaries grouped by any
 * dimensions, VM-months with keyset pagination, and the records behind a
 * VM-month. Every filter is applied in SQL with bound parameters.
 */
import type Database from 'better-sqlite3';
import { GraphQLError } from 'graphql';
import { formatYearMonth, parseYearMonth } from '../accounting/measurement.ts';
import type { FlagRow, VmMonthRow } from '../../projections/accounting.ts';

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
export type SummaryKey = Partial<Record<Dimension, string | null>>;

export interface UsageFilter {
  sites?: readonly string[] | null;
  services?: readonly string[] | null;
  vos?: readonly string[] | null;
  users?: readonly string[] | null;
  statuses?: readonly string[] | null;
  from?: string | null;
  to?: string | null;
  /** Exact values (null included) of a summary row's key: the drill-down. */
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

/** Prepared statements per read-model connection: filters produce a handful of distinct SQL texts, each prepared once. */
const statements = new WeakMap<Database.Database, Map<string, Database.Statement>>();
function prepared(db: Database.Database, sql: string): Database.Statement {
  let byText = statements.get(db);
  if (!byText) statements.set(db, (byText = new Map()));
  let stmt = byText.get(sql);
  if (!stmt) byText.set(sql, (stmt = db.prepare(sql)));
  return stmt;
}

export const badInput = (message: string, field: string) =>
  new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', field } });

function yearMonth(text: string | null | undefined, field: string): number | undefined {
  if (text === null || text === undefined) return undefined;
  const ym = parseYearMonth(text);
  if (ym === null) throw badInput(`${field} must be YYYY-MM, got ${JSON.stringify(text)}`, field);
  return ym;
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
  const from = yearMonth(filter.from, 'from');
  const to = yearMonth(filter.to, 'to');
  if (from !== undefined) {
    clauses.push('ym >= ?');
    params.push(from);
  }
  if (to !== undefined) {
    clauses.push('ym <= ?');
    params.push(to);
  }
  for (const [dimension, value] of Object.entries(filter.key ?? {}) as Array<[Dimension, string | null]>) {
    clauses.push(`${DIMENSIONS[dimension]} IS ?`);
    params.push(dimension === 'month' && value !== null ? yearMonth(value, 'month') : value);
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

const encodeCursor = (r: VmMonthRow) =>
  Buffer.from(JSON.stringify([r.site_name, r.vm_uuid, r.ym])).toString('base64url');

function decodeCursor(cursor: string): [string, string, number] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(value) &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string' &&
      Number.isInteger(value[2])
    )
      return [value[0], value[1], value[2] as number];
  } catch {
    // Reported below as a bad cursor.
  }
  throw badInput('after is not a cursor this server issued', 'after');
}

/** One page of VM-months in (site, VMUUID, month) order: a VM's index order, so a page costs one index range. */
export function vmMonthPage(
  db: Database.Database,
  filter: UsageFilter,
  first: number,
  after: string | null | undefined,
): { rows: VmMonthRow[]; cursors: string[]; hasNextPage: boolean } {
  const w = where(filter);
  let sql = w.sql;
  const params = [...w.params];
  if (after) {
    const [site, vm, ym] = decodeCursor(after);
    sql = `${sql ? `${sql} AND` : 'WHERE'} (site_name, vm_uuid, ym) > (?, ?, ?)`;
    params.push(site, vm, ym);
  }
  const rows = prepared(db, `SELECT * FROM acc_vm_months ${sql} ORDER BY site_name, vm_uuid, ym LIMIT ?`).all(
    ...params,
    first + 1,
  ) as VmMonthRow[];
  const hasNextPage = rows.length > first;
  if (hasNextPage) rows.pop();
  return { rows, cursors: rows.map(encodeCursor), hasNextPage };
}

/** The sites that reported a VMUUID: each has a VM of its own by that VMUUID. */
export function vmUuidSites(db: Database.Database, vmUuid: string): string[] {
  return (
    prepared(db, 'SELECT site_name FROM acc_vm_sites WHERE vm_uuid = ?').all(vmUuid) as Array<{
      site_name: string;
    }>
  ).map((r) => r.site_name);
}

export function vmVos(db: Database.Database, siteName: string, vmUuid: string): Array<string | null> {
  return (
    prepared(db, 'SELECT DISTINCT vo FROM acc_vm_months WHERE site_name = ? AND vm_uuid = ?').all(
      siteName,
      vmUuid,
    ) as Array<{ vo: string | null }>
  ).map((r) => r.vo);
}

export function flagsOf(db: Database.Database, siteName: string, vmUuid: string, ym: number): FlagRow[] {
  return prepared(
    db,
    `SELECT kind, site_name, vm_uuid, ym, event_id, detail FROM acc_flags WHERE site_name = ? AND vm_uuid = ? AND ym = ?
     ORDER BY kind, id`,
  ).all(siteName, vmUuid, ym) as FlagRow[];
}

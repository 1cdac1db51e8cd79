/**
 * Every table of a report, defined once (columns in a fixed order, each with
 * a format), and written as CSV and JSON. The Markdown and HTML renderers
 * show the same tables with the same rounding, so every figure reads the
 * same in all formats.
 */
import type { Cell, CellFormat, Column, ReportContent, Table } from './model.ts';

const NUMERIC: ReadonlySet<CellFormat> = new Set(['int', 'hours', 'percent', 'change']);
/** Numeric columns are right-aligned, and show an empty value as `n/a`. */
export const isNumeric = (column: Column) => NUMERIC.has(column.format);

const DECIMALS: Partial<Record<CellFormat, number>> = { hours: 2, percent: 2, change: 1 };

/** Fixed-decimal text without a negative zero (`-0.00` would differ from `0.00` for no reason). */
function fixed(value: number, decimals: number): string {
  const text = value.toFixed(decimals);
  return /^-0(\.0+)?$/.test(text) ? text.slice(1) : text;
}

/** A cell as text; null is the empty string (CSV) unless the caller substitutes. */
export function formatCell(value: Cell, format: CellFormat): string {
  if (value === null) return '';
  if (format === 'flag') return value ? 'yes' : 'no';
  if (typeof value !== 'number') return String(value);
  if (format === 'int') return fixed(value, 0);
  if (format === 'change') return (value > 0 ? '+' : '') + fixed(value, 1);
  const decimals = DECIMALS[format];
  return decimals === undefined ? String(value) : fixed(value, decimals);
}

/** A cell as a JSON value, rounded exactly as its text. */
export function jsonCell(value: Cell, format: CellFormat): Cell {
  if (typeof value !== 'number') return value;
  const rounded = Number(format === 'int' ? fixed(value, 0) : fixed(value, DECIMALS[format] ?? 0));
  return Object.is(rounded, -0) ? 0 : rounded;
}

const col = (key: string, header: string, format: CellFormat): Column => ({ key, header, format });

/** Relative change in percent; null when the previous value is zero. */
export function changePercent(current: number, previous: number): number | null {
  return previous === 0 ? null : (100 * (current - previous)) / previous;
}

/** VM counts are whole numbers; the other totals are hours. */
const vmsWhole = (row: Record<string, Cell>): CellFormat => (row['measure'] === 'VMs' ? 'int' : 'hours');

function totalsTable(c: ReportContent): Table {
  const { current, previous } = c.totals;
  const row = (measure: string, key: 'vms' | 'wallHours' | 'cpuCoreHours') => ({
    measure,
    current: current[key],
    previous: previous[key],
    change: current[key] - previous[key],
    changePercent: changePercent(current[key], previous[key]),
  });
  return {
    name: 'totals',
    title: `Federation totals, ${c.period.name} against ${c.previousPeriod}`,
    columns: [
      col('measure', 'Measure', 'text'),
      { ...col('current', c.period.name, 'hours'), formatFor: vmsWhole },
      { ...col('previous', c.previousPeriod, 'hours'), formatFor: vmsWhole },
      { ...col('change', 'Change', 'hours'), formatFor: vmsWhole },
      col('changePercent', 'Change %', 'change'),
    ],
    rows: [row('VMs', 'vms'), row('Wall hours', 'wallHours'), row('CPU-core hours', 'cpuCoreHours')],
  };
}

const usageColumns = [
  col('vms', 'VMs', 'int'),
  col('wallHours', 'Wall hours', 'hours'),
  col('cpuCoreHours', 'CPU-core hours', 'hours'),
];

/** The tables of a report, in the order they appear in it. */
export function reportTables(c: ReportContent): Table[] {
  const membershipRows = (m: ReportContent['activeSites'], key: string) =>
    [...new Set([...m.active, ...m.left])].sort().map((name) => ({
      [key]: name,
      active: m.active.includes(name),
      change: m.joined.includes(name) ? 'joined' : m.left.includes(name) ? 'left' : '',
    }));
  return [
    totalsTable(c),
    {
      name: 'monthly-usage',
      title: 'Federation usage per month (trailing year)',
      columns: [col('month', 'Month', 'text'), ...usageColumns],
      rows: c.monthly.map((m) => ({ ...m })),
    },
    {
      name: 'sites',
      title: 'Usage and availability per resource centre',
      columns: [
        col('site', 'Resource centre', 'text'),
        col('ngi', 'NGI', 'text'),
        ...usageColumns,
        col('availability', 'Availability %', 'percent'),
        col('reliability', 'Reliability %', 'percent'),
        col('unknown', 'Unknown %', 'percent'),
        col('meetsTargets', 'Meets targets', 'flag'),
      ],
      rows: c.sites.map((s) => ({
        site: s.site,
        ngi: s.ngi,
        ...s.usage,
        availability: s.availability,
        reliability: s.reliability,
        unknown: s.unknown,
        meetsTargets: s.shortfalls.length === 0,
      })),
    },
    {
      name: 'sites-under-target',
      title: `Resource centres under target (availability ≥ ${c.targets.availability} %, reliability ≥ ${c.targets.reliability} %, unknown ≤ ${c.targets.unknown} %)`,
      columns: [
        col('site', 'Resource centre', 'text'),
        col('availability', 'Availability %', 'percent'),
        col('reliability', 'Reliability %', 'percent'),
        col('unknown', 'Unknown %', 'percent'),
        col('shortfalls', 'Shortfalls', 'text'),
      ],
      rows: c.sites
        .filter((s) => s.shortfalls.length > 0)
        .map((s) => ({
          site: s.site,
          availability: s.availability,
          reliability: s.reliability,
          unknown: s.unknown,
          shortfalls: s.shortfalls.join('; '),
        })),
    },
    {
      name: 'sites-under-availability-three-months',
      title: `Resource centres under ${c.targets.availability} % availability for three months running`,
      columns: [
        col('site', 'Resource centre', 'text'),
        col('month', 'Month', 'text'),
        col('availability', 'Availability %', 'percent'),
      ],
      rows: c.threeMonthsUnder.flatMap((t) =>
        t.months.map((m) => ({ site: t.site, month: m.month, availability: m.availability })),
      ),
    },
    {
      name: 'communities',
      title: 'Usage per user community (VO)',
      columns: [col('vo', 'VO', 'text'), col('sites', 'Sites', 'int'), ...usageColumns],
      rows: c.communities.map((v) => ({
        vo: v.vo,
        sites: v.sites,
        vms: v.vms,
        wallHours: v.wallHours,
        cpuCoreHours: v.cpuCoreHours,
      })),
    },
    {
      name: 'resource-centres',
      title: 'Resource centre participation criteria',
      columns: [
        col('site', 'Resource centre', 'text'),
        col('registered', 'Registered cloud endpoint', 'flag'),
        col('monitored', 'Monitored', 'flag'),
        col('published', 'Published usage', 'flag'),
        col('active', 'Active', 'flag'),
      ],
      rows: c.resourceCentres.map((r) => ({ ...r })),
    },
    {
      name: 'active-resource-centres',
      title: `Active resource centres, and changes since ${c.previousPeriod}`,
      columns: [
        col('site', 'Resource centre', 'text'),
        col('active', 'Active', 'flag'),
        col('change', 'Change', 'text'),
      ],
      rows: membershipRows(c.activeSites, 'site'),
    },
    {
      name: 'active-communities',
      title: `Active user communities, and changes since ${c.previousPeriod}`,
      columns: [col('vo', 'VO', 'text'), col('active', 'Active', 'flag'), col('change', 'Change', 'text')],
      rows: membershipRows(c.activeCommunities, 'vo'),
    },
    {
      name: 'silent-publishers',
      title: 'Silent publishers',
      columns: [col('site', 'Resource centre', 'text'), col('lastReceived', 'Last record received', 'text')],
      rows: c.dataQuality.silentPublishers.map((s) => ({ ...s })),
    },
    {
      name: 'quarantine',
      title: 'Records rejected into quarantine in the period',
      columns: [
        col('site', 'Resource centre', 'text'),
        col('rejected', 'Rejected', 'int'),
        col('unresolved', 'Still unresolved', 'int'),
      ],
      rows: c.dataQuality.quarantine.map((q) => ({ ...q })),
    },
    {
      name: 'negative-differences',
      title: 'VM-months with negative monthly differences',
      columns: [
        col('site', 'Resource centre', 'text'),
        col('month', 'Month', 'text'),
        col('vmUuid', 'VM', 'text'),
        col('detail', 'Detail', 'text'),
      ],
      rows: c.dataQuality.negativeDifferences.map((n) => ({ ...n })),
    },
  ];
}

export const cellFormat = (column: Column, row: Record<string, Cell>): CellFormat =>
  column.formatFor?.(row) ?? column.format;

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** RFC 4180 CSV with a header of column keys, LF line ends. */
export function tableCsv(table: Table): string {
  const lines = [table.columns.map((c) => csvField(c.key)).join(',')];
  for (const row of table.rows)
    lines.push(table.columns.map((c) => csvField(formatCell(row[c.key] ?? null, cellFormat(c, row)))).join(','));
  return `${lines.join('\n')}\n`;
}

/** JSON with the table's identity, the period and log position, and rows keyed in column order. */
export function tableJson(table: Table, c: ReportContent): string {
  const rows = table.rows.map((row) =>
    Object.fromEntries(table.columns.map((col) => [col.key, jsonCell(row[col.key] ?? null, cellFormat(col, row))])),
  );
  const doc = {
    table: table.name,
    title: table.title,
    period: c.period.name,
    position: c.position,
    columns: table.columns.map((col) => ({ key: col.key, header: col.header })),
    rows,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

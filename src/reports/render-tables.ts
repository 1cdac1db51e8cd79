/**
 * Every table of a report, defined once (columns in a fixed order, each with
 * a format), and written as CSV and JSON. The Markdown and HTML renderers
 * show the same tables with the same rounding, so every figure reads the
 * same in all formats.
 */
import type { Cell, CellFormat, Column, ReportContent, SiteReport, Table, UsageFigures } from './model.ts';

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

/** Digits grouped in thousands (`12,345.67`), for figures a person reads; CSV and JSON keep plain numbers. */
export function groupThousands(text: string): string {
  return text.replace(
    /^([+-]?)(\d+)/,
    (_, sign: string, digits: string) => sign + digits.replace(/\B(?=(\d{3})+$)/g, ','),
  );
}

/** A cell as a person reads it: formatted as in CSV, numbers with thousands separators. */
export function readableCell(value: Cell, format: CellFormat): string {
  const text = formatCell(value, format);
  return typeof value === 'number' && format !== 'text' ? groupThousands(text) : text;
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

/** The name of a count of VMs summed over months: a VM running in three months counts three times. */
export const VM_MONTHS = 'VM-months';

/** VM-month counts are whole numbers; the other totals are hours. */
const vmsWhole = (row: Record<string, Cell>): CellFormat => (row['measure'] === VM_MONTHS ? 'int' : 'hours');

/** No usage record at all in the period: its zeros mean missing data, not a fall of 100 %. */
export const withoutUsage = (c: ReportContent) => c.totals.current.vms === 0 && c.totals.current.wallHours === 0;

function totalsTable(c: ReportContent): Table {
  const { current, previous } = c.totals;
  const row = (measure: string, key: 'vms' | 'wallHours' | 'cpuCoreHours') => ({
    measure,
    current: current[key],
    previous: previous[key],
    change: current[key] - previous[key],
    changePercent: withoutUsage(c) ? null : changePercent(current[key], previous[key]),
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
    rows: [row(VM_MONTHS, 'vms'), row('Wall hours', 'wallHours'), row('CPU-core hours', 'cpuCoreHours')],
  };
}

const usageColumns = [
  col('vmMonths', VM_MONTHS, 'int'),
  col('wallHours', 'Wall hours', 'hours'),
  col('cpuCoreHours', 'CPU-core hours', 'hours'),
];

const usageCells = (u: UsageFigures) => ({ vmMonths: u.vms, wallHours: u.wallHours, cpuCoreHours: u.cpuCoreHours });

/** Availability, reliability and unknown are percentages (ARGO gives fractions): the keys say so. */
const arColumns = [
  col('availabilityPercent', 'Availability %', 'percent'),
  col('reliabilityPercent', 'Reliability %', 'percent'),
  col('unknownPercent', 'Unknown %', 'percent'),
];

const arCells = (s: Pick<SiteReport, 'availability' | 'reliability' | 'unknown'>) => ({
  availabilityPercent: s.availability,
  reliabilityPercent: s.reliability,
  unknownPercent: s.unknown,
});

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
      rows: c.monthly.map((m) => ({ month: m.month, ...usageCells(m) })),
    },
    {
      name: 'sites',
      title: 'Usage and availability per resource centre',
      columns: [
        col('site', 'Resource centre', 'text'),
        col('ngi', 'NGI', 'text'),
        ...usageColumns,
        ...arColumns,
        col('meetsTargets', 'Meets targets', 'flag'),
      ],
      rows: c.sites.map((s) => ({
        site: s.site,
        ngi: s.ngi,
        ...usageCells(s.usage),
        ...arCells(s),
        meetsTargets: s.shortfalls.length === 0,
      })),
    },
    {
      name: 'sites-under-target',
      title: `Resource centres under target (availability ≥ ${c.targets.availability} %, reliability ≥ ${c.targets.reliability} %, unknown ≤ ${c.targets.unknown} %)`,
      columns: [col('site', 'Resource centre', 'text'), ...arColumns, col('shortfalls', 'Shortfalls', 'text')],
      rows: c.sites
        .filter((s) => s.shortfalls.length > 0)
        .map((s) => ({ site: s.site, ...arCells(s), shortfalls: s.shortfalls.join('; ') })),
    },
    {
      name: 'sites-under-availability-three-months',
      title: `Resource centres under ${c.targets.availability} % availability for three months running`,
      columns: [col('site', 'Resource centre', 'text'), col('month', 'Month', 'text'), arColumns[0]!],
      rows: c.threeMonthsUnder.flatMap((t) =>
        t.months.map((m) => ({ site: t.site, month: m.month, availabilityPercent: m.availability })),
      ),
    },
    {
      name: 'communities',
      title: 'Usage per user community (VO)',
      columns: [col('vo', 'VO', 'text'), col('sites', 'Sites', 'int'), ...usageColumns],
      rows: c.communities.map((v) => ({ vo: v.vo, sites: v.sites, ...usageCells(v) })),
    },
    {
      name: 'resource-centres',
      title: 'Resource centre participation criteria',
      columns: [
        col('site', 'Resource centre', 'text'),
        col('registered', 'Registered cloud endpoint', 'flag'),
        col('monitored', 'Monitored', 'flag'),
        col('published', 'Usage measured in the period', 'flag'),
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
      name: 'participating-resource-centres',
      title: `Resource centres' integration at the end of the period, and changes since ${c.previousPeriod}`,
      columns: [
        col('site', 'Resource centre', 'text'),
        col('state', 'State', 'text'),
        col('since', 'Since', 'text'),
        col('change', 'Change', 'text'),
      ],
      rows: c.participants.map((p) => ({ ...p })),
    },
    {
      name: 'user-communities',
      title: 'Active user communities: first and last usage, sites used and VM hours in the period',
      columns: [
        col('vo', 'VO', 'text'),
        col('firstUsage', 'First usage', 'text'),
        col('lastUsage', 'Last usage', 'text'),
        col('sites', 'Sites used', 'text'),
        col('vmHours', 'VM hours', 'hours'),
      ],
      rows: c.userCommunities.map((v) => ({ ...v, sites: v.sites.join(', ') })),
    },
    {
      name: 'silent-publishers',
      title: 'Silent publishers',
      columns: [
        col('site', 'Resource centre', 'text'),
        { ...col('lastReceived', 'Last usage record received', 'text'), whenEmpty: "none before the period's end" },
      ],
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
      name: 'rejected-inputs',
      title: 'Probe results and GOCDB input rejected into quarantine in the period',
      columns: [
        col('input', 'Input', 'text'),
        col('publisher', 'Publisher', 'text'),
        col('rejected', 'Rejected', 'int'),
        col('firstError', 'First error', 'text'),
      ],
      rows: c.dataQuality.rejectedInputs.map((r) => ({ ...r })),
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

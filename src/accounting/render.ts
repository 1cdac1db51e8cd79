/**
 * Output formats for summary rows: APEL summary messages (what the EGI
 * portal consumes) and plain tables (CSV, JSON).
 */
import type { SummaryRow } from './summary.ts';

export const SUMMARY_HEADER = 'APEL-cloud-summary-message: v0.4';
/** APEL's own unloader writes at most this many records per message. */
export const MAX_RECORDS_PER_MESSAGE = 1000;

/** Wire names in APEL's order, with the row field and whether the value is a decimal. */
const COLUMNS: readonly [string, keyof SummaryRow, 'decimal' | 'plain'][] = [
  ['SiteName', 'siteName', 'plain'],
  ['CloudComputeService', 'cloudComputeService', 'plain'],
  ['Month', 'month', 'plain'],
  ['Year', 'year', 'plain'],
  ['GlobalUserName', 'globalUserName', 'plain'],
  ['VO', 'vo', 'plain'],
  ['VOGroup', 'voGroup', 'plain'],
  ['VORole', 'voRole', 'plain'],
  ['Status', 'status', 'plain'],
  ['CloudType', 'cloudType', 'plain'],
  ['ImageId', 'imageId', 'plain'],
  ['EarliestStartTime', 'earliestStartTime', 'plain'],
  ['LatestStartTime', 'latestStartTime', 'plain'],
  ['WallDuration', 'wallDuration', 'plain'],
  ['CpuDuration', 'cpuDuration', 'plain'],
  ['CpuCount', 'cpuCount', 'decimal'],
  ['NetworkInbound', 'networkInbound', 'plain'],
  ['NetworkOutbound', 'networkOutbound', 'plain'],
  ['Memory', 'memory', 'plain'],
  ['Disk', 'disk', 'plain'],
  ['BenchmarkType', 'benchmarkType', 'plain'],
  ['Benchmark', 'benchmark', 'decimal'],
  ['NumberOfVMs', 'numberOfVms', 'plain'],
];

export const SUMMARY_COLUMNS: readonly string[] = COLUMNS.map(([wire]) => wire);

/** Decimals print as APEL prints them (Python floats: `8.0`, `1.456`); null as `None`. */
function wireValue(value: string | number | null, kind: 'decimal' | 'plain'): string {
  if (value === null) return 'None';
  if (kind === 'decimal' && typeof value === 'number' && Number.isInteger(value)) return value.toFixed(1);
  return String(value);
}

/** Summary messages of at most `perMessage` records each, every record closed by `%%`. */
export function summaryMessages(rows: readonly SummaryRow[], perMessage = MAX_RECORDS_PER_MESSAGE): string[] {
  const messages: string[] = [];
  for (let i = 0; i < rows.length; i += perMessage) {
    const body = rows
      .slice(i, i + perMessage)
      .map(
        (row) => COLUMNS.map(([wire, field, kind]) => `${wire}: ${wireValue(row[field], kind)}\n`).join('') + '%%\n',
      );
    messages.push(`${SUMMARY_HEADER}\n${body.join('')}`);
  }
  return messages;
}

function csvCell(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** RFC 4180 CSV with the summary message's column names; null is an empty cell. */
export function summariesCsv(rows: readonly SummaryRow[]): string {
  const lines = [SUMMARY_COLUMNS.join(',')];
  for (const row of rows) lines.push(COLUMNS.map(([, field]) => csvCell(row[field])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** JSON array of objects keyed by the summary message's column names. */
export function summariesJson(rows: readonly SummaryRow[]): string {
  const objects = rows.map((row) => Object.fromEntries(COLUMNS.map(([wire, field]) => [wire, row[field]])));
  return `${JSON.stringify(objects, null, 2)}\n`;
}

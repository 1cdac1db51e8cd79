/**
 * Probe results as JSON lines in ARGO's metric-data shape: each line an
 * object with timestamp, hostname, service, metric, status, summary,
 * message, monitoring_host (tags and actual_data are accepted and dropped).
 * Pure: a line becomes the data of a ProbeResultRecorded event or a list of
 * errors naming the line and the field.
 */
import type { EventData, RecordError } from '../events/catalogue.ts';

export type ProbeResult = EventData<'ProbeResultRecorded'>;

export type ParsedLine =
  { ok: true; line: number; result: ProbeResult } | { ok: false; line: number; text: string; errors: RecordError[] };

const STATUSES = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;
type Status = (typeof STATUSES)[number];
/** Probe exit codes 0..3, as Nagios plugins return them. */
const EXIT_CODES: Record<number, Status> = { 0: 'OK', 1: 'WARNING', 2: 'CRITICAL', 3: 'UNKNOWN' };
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/;
/** Length of `YYYY-MM-DDTHH:MM:SSZ`. */
const WHOLE_SECONDS = 20;
/** Character code of `0`. */
const ZERO = 48;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function error(source: string, line: number, field: string | null, reason: string): RecordError {
  return {
    code: 'INVALID_PROBE_RESULT',
    message: `${source} line ${line}${field ? ` field ${field}` : ''}: ${reason}`,
    record: null,
    line,
    field,
    reason,
  };
}

/** The number written by the `length` digits at `at` (already known to be digits). */
function digitsAt(text: string, at: number, length: number): number {
  let n = 0;
  for (let i = at; i < at + length; i++) n = n * 10 + text.charCodeAt(i) - ZERO;
  return n;
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
}

/** Normalises an ISO instant in UTC to whole seconds (`YYYY-MM-DDTHH:MM:SSZ`), or undefined if invalid. */
export function normaliseInstant(value: string): string | undefined {
  if (!INSTANT.test(value)) return undefined;
  // Checked field by field rather than through Date, which would roll 2024-02-30 over into March.
  const year = digitsAt(value, 0, 4);
  const month = digitsAt(value, 5, 2);
  const day = digitsAt(value, 8, 2);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (digitsAt(value, 11, 2) > 23 || digitsAt(value, 14, 2) > 59 || digitsAt(value, 17, 2) > 59) return undefined;
  return value.length === WHOLE_SECONDS ? value : `${value.slice(0, WHOLE_SECONDS - 1)}Z`;
}

/** A line's errors so far, and what names the line in them. */
interface LineErrors {
  readonly source: string;
  readonly line: number;
  readonly list: RecordError[];
}

function report(errors: LineErrors, field: string, reason: string): void {
  errors.list.push(error(errors.source, errors.line, field, reason));
}

function requiredString(o: Record<string, unknown>, field: string, errors: LineErrors): string {
  const v = o[field];
  const trimmed = typeof v === 'string' ? v.trim() : '';
  if (trimmed === '') report(errors, field, v === undefined || v === null ? 'missing' : 'must be a non-empty string');
  return trimmed;
}

function optionalString(o: Record<string, unknown>, field: string, errors: LineErrors): string {
  const v = o[field];
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  report(errors, field, 'must be a string');
  return '';
}

const isStatus = (name: string): name is Status => (STATUSES as readonly string[]).includes(name);

/** A status name in any case, or an exit code. */
function statusOf(raw: unknown): Status | undefined {
  if (typeof raw === 'number') return EXIT_CODES[raw];
  if (typeof raw !== 'string') return undefined;
  const name = raw.trim().toUpperCase();
  return isStatus(name) ? name : undefined;
}

/** Parses one line (1-based `line`); blank lines are the caller's to skip. */
export function parseProbeLine(text: string, line: number, source: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, line, text, errors: [error(source, line, null, `not JSON: ${(e as Error).message}`)] };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { ok: false, line, text, errors: [error(source, line, null, 'not a JSON object')] };
  const o = value as Record<string, unknown>;
  const errors: LineErrors = { source, line, list: [] };
  const rawTime = o['timestamp'];
  const timestamp = typeof rawTime === 'string' ? normaliseInstant(rawTime) : undefined;
  if (timestamp === undefined)
    report(errors, 'timestamp', rawTime === undefined ? 'missing' : 'must be a UTC instant YYYY-MM-DDTHH:MM:SSZ');
  const hostname = requiredString(o, 'hostname', errors);
  const service = requiredString(o, 'service', errors);
  const metric = requiredString(o, 'metric', errors);
  const rawStatus = o['status'];
  const status = statusOf(rawStatus);
  if (status === undefined)
    report(
      errors,
      'status',
      rawStatus === undefined ? 'missing' : `must be one of ${STATUSES.join(', ')} or an exit code 0..3`,
    );
  const summary = optionalString(o, 'summary', errors);
  const message = optionalString(o, 'message', errors);
  const monitoringHost = optionalString(o, 'monitoring_host', errors);
  if (errors.list.length) return { ok: false, line, text, errors: errors.list };
  return {
    ok: true,
    line,
    result: { timestamp: timestamp!, hostname, service, metric, status: status!, summary, message, monitoringHost },
  };
}

/** The natural key of a probe result: the same key is the same fact. */
export const probeIdentity = (r: ProbeResult) => [r.hostname, r.service, r.metric, r.timestamp, r.status];

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
/** Probe exit codes 0..3, as Nagios plugins return them. */
const EXIT_CODES: Record<number, (typeof STATUSES)[number]> = { 0: 'OK', 1: 'WARNING', 2: 'CRITICAL', 3: 'UNKNOWN' };
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?Z$/;

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

/** Normalises an ISO instant in UTC to whole seconds (`YYYY-MM-DDTHH:MM:SSZ`), or undefined if invalid. */
export function normaliseInstant(value: string): string | undefined {
  const m = INSTANT.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  const ms = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!);
  const back = new Date(ms);
  // Date.UTC rolls 2024-02-30 over into March: reject instead.
  if (
    back.getUTCDate() !== +d! ||
    back.getUTCHours() !== +h! ||
    back.getUTCMinutes() !== +mi! ||
    back.getUTCSeconds() !== +s!
  )
    return undefined;
  return `${y}-${mo}-${d}T${h}:${mi}:${s}Z`;
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
  const errors: RecordError[] = [];
  const required = (field: string): string => {
    const v = o[field];
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
    errors.push(error(source, line, field, v === undefined || v === null ? 'missing' : 'must be a non-empty string'));
    return '';
  };
  const optional = (field: string): string => {
    const v = o[field];
    if (v === undefined || v === null) return '';
    if (typeof v === 'string') return v;
    errors.push(error(source, line, field, 'must be a string'));
    return '';
  };
  const rawTime = o['timestamp'];
  const timestamp = typeof rawTime === 'string' ? normaliseInstant(rawTime) : undefined;
  if (timestamp === undefined)
    errors.push(
      error(
        source,
        line,
        'timestamp',
        rawTime === undefined ? 'missing' : 'must be a UTC instant YYYY-MM-DDTHH:MM:SSZ',
      ),
    );
  const hostname = required('hostname');
  const service = required('service');
  const metric = required('metric');
  const rawStatus = o['status'];
  const status =
    typeof rawStatus === 'string'
      ? STATUSES.find((s) => s === rawStatus.trim().toUpperCase())
      : typeof rawStatus === 'number'
        ? EXIT_CODES[rawStatus]
        : undefined;
  if (status === undefined)
    errors.push(
      error(
        source,
        line,
        'status',
        rawStatus === undefined ? 'missing' : `must be one of ${STATUSES.join(', ')} or an exit code 0..3`,
      ),
    );
  const summary = optional('summary');
  const message = optional('message');
  const monitoringHost = optional('monitoring_host');
  if (errors.length) return { ok: false, line, text, errors };
  return {
    ok: true,
    line,
    result: { timestamp: timestamp!, hostname, service, metric, status: status!, summary, message, monitoringHost },
  };
}

/** The natural key of a probe result: the same key is the same fact. */
export const probeIdentity = (r: ProbeResult) => [r.hostname, r.service, r.metric, r.timestamp, r.status];

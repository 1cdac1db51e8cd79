/**
 * Parser for `APEL-cloud-message` bodies (v0.1, v0.2, v0.4), following
 * DOMAIN §1. Pure: text in, typed records and located errors out. A bad
 * record is reported on its own; the other records of the message stand.
 */
import { DateTime } from 'luxon';
import type { CloudUsageRecord, RecordError } from '../events/catalogue.ts';

export type ApelCloudVersion = 'v0.1' | 'v0.2' | 'v0.4';

export interface ParsedCloudRecord {
  /** 1-based index of the record in its message. */
  index: number;
  /** 1-based line of the record's first line. */
  line: number;
  record: CloudUsageRecord;
}

export interface RejectedCloudRecord {
  /** 1-based index, or null when the message as a whole is unreadable. */
  index: number | null;
  line: number | null;
  /** The record's own lines (the whole message when index is null). */
  text: string;
  errors: RecordError[];
  /** SiteName as written, when it could be read: lets a site's quarantine be listed. */
  siteName: string | null;
}

export interface ParsedCloudMessage {
  version: ApelCloudVersion | null;
  records: ParsedCloudRecord[];
  rejected: RejectedCloudRecord[];
}

const HEADER_PREFIX = 'APEL-cloud-message: ';
const VERSIONS: readonly ApelCloudVersion[] = ['v0.1', 'v0.2', 'v0.4'];
/** APEL stores every text field as VARCHAR(255) and silently truncates longer values. */
const MAX_TEXT = 255;
/** APEL's DECIMAL(10,3) columns (CpuCount, Benchmark). */
const MAX_DECIMAL = 9_999_999.999;
/** Epoch seconds of 9999-12-31T23:59:59Z: beyond it a "time" is not a time. */
const MAX_EPOCH = 253_402_300_799;

type Kind = 'text' | 'integer' | 'decimal' | 'time';
type RecordKey = keyof CloudUsageRecord;

interface FieldSpec {
  key: RecordKey;
  kind: Kind;
}

/** Wire name → record key and kind, for the v0.2 field set (shared by v0.1). */
const V02_FIELDS: Record<string, FieldSpec> = {
  VMUUID: { key: 'vmUuid', kind: 'text' },
  SiteName: { key: 'siteName', kind: 'text' },
  MachineName: { key: 'machineName', kind: 'text' },
  LocalUserId: { key: 'localUserId', kind: 'text' },
  LocalGroupId: { key: 'localGroupId', kind: 'text' },
  GlobalUserName: { key: 'globalUserName', kind: 'text' },
  FQAN: { key: 'fqan', kind: 'text' },
  Status: { key: 'status', kind: 'text' },
  StartTime: { key: 'startTime', kind: 'time' },
  EndTime: { key: 'endTime', kind: 'time' },
  SuspendDuration: { key: 'suspendDuration', kind: 'integer' },
  WallDuration: { key: 'wallDuration', kind: 'integer' },
  CpuDuration: { key: 'cpuDuration', kind: 'integer' },
  CpuCount: { key: 'cpuCount', kind: 'decimal' },
  NetworkType: { key: 'networkType', kind: 'text' },
  NetworkInbound: { key: 'networkInbound', kind: 'integer' },
  NetworkOutbound: { key: 'networkOutbound', kind: 'integer' },
  Memory: { key: 'memory', kind: 'integer' },
  Disk: { key: 'disk', kind: 'integer' },
  StorageRecordId: { key: 'storageRecordId', kind: 'text' },
  ImageId: { key: 'imageId', kind: 'text' },
  CloudType: { key: 'cloudType', kind: 'text' },
  RecordCreateTime: { key: 'recordCreateTime', kind: 'time' },
};

const V04_ONLY: Record<string, FieldSpec> = {
  CloudComputeService: { key: 'cloudComputeService', kind: 'text' },
  PublicIPCount: { key: 'publicIpCount', kind: 'integer' },
  BenchmarkType: { key: 'benchmarkType', kind: 'text' },
  Benchmark: { key: 'benchmark', kind: 'decimal' },
};

const FIELDS_BY_VERSION: Record<ApelCloudVersion, Record<string, FieldSpec>> = {
  'v0.1': V02_FIELDS,
  'v0.2': V02_FIELDS,
  'v0.4': { ...V02_FIELDS, ...V04_ONLY },
};

/** Keys APEL accepts and ignores. */
const IGNORED = new Set(['UpdateTime', 'MeasurementTime', 'MeasurementMonth', 'MeasurementYear']);
const MANDATORY = ['VMUUID', 'SiteName'] as const;
const NULLS = new Set(['', 'None', 'NULL']);

const INTEGER = /^\d+$/;
const DECIMAL = /^\d+(\.\d+)?$/;
const NEGATIVE_NUMBER = /^-\d+(\.\d+)?$/;
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

export const EMPTY_RECORD: Readonly<CloudUsageRecord> = Object.freeze({
  vmUuid: '',
  siteName: '',
  machineName: null,
  localUserId: null,
  localGroupId: null,
  globalUserName: null,
  fqan: null,
  vo: null,
  voGroup: null,
  voRole: null,
  status: null,
  startTime: null,
  endTime: null,
  suspendDuration: null,
  wallDuration: null,
  cpuDuration: null,
  cpuCount: null,
  networkType: null,
  networkInbound: null,
  networkOutbound: null,
  publicIpCount: null,
  memory: null,
  disk: null,
  storageRecordId: null,
  imageId: null,
  cloudType: null,
  cloudComputeService: null,
  benchmarkType: null,
  benchmark: null,
  recordCreateTime: null,
});

/** VO, VOGroup and VORole from an FQAN (DOMAIN §1 "FQAN → VO"). */
export function splitFqan(fqan: string | null): { vo: string | null; voGroup: string | null; voRole: string | null } {
  if (fqan === null) return { vo: null, voGroup: null, voRole: null };
  const head = fqan.split(';')[0]!.trim();
  if (!head.startsWith('/')) return { vo: head === '' ? null : head, voGroup: null, voRole: null };
  const parts = head.split('/').filter((p) => p !== '');
  const roleAt = parts.findIndex((p) => p.startsWith('Role='));
  const groupParts = (roleAt === -1 ? parts : parts.slice(0, roleAt)).filter((p) => !p.startsWith('Capability='));
  return {
    vo: parts[0] ?? null,
    voGroup: groupParts.length ? `/${groupParts.join('/')}` : null,
    voRole: roleAt === -1 ? null : parts[roleAt]!,
  };
}

type Converted = { ok: true; value: string | number | null } | { ok: false; code: string; reason: string };

function convert(kind: Kind, field: string, raw: string): Converted {
  if (NULLS.has(raw)) return { ok: true, value: null };
  switch (kind) {
    case 'text':
      return raw.length > MAX_TEXT
        ? { ok: false, code: 'OUT_OF_RANGE', reason: `longer than ${MAX_TEXT} characters (${raw.length})` }
        : { ok: true, value: raw };
    case 'integer': {
      if (NEGATIVE_NUMBER.test(raw)) return { ok: false, code: 'OUT_OF_RANGE', reason: `negative value ${raw}` };
      if (!INTEGER.test(raw))
        return { ok: false, code: 'NOT_INTEGER', reason: `${JSON.stringify(raw)} is not a non-negative integer` };
      const n = Number(raw);
      // Beyond 2^53 a JS number no longer holds the exact value; no real duration, count or size gets there.
      if (!Number.isSafeInteger(n))
        return { ok: false, code: 'OUT_OF_RANGE', reason: `${raw} exceeds ${Number.MAX_SAFE_INTEGER}` };
      return { ok: true, value: n };
    }
    case 'decimal': {
      if (NEGATIVE_NUMBER.test(raw)) return { ok: false, code: 'OUT_OF_RANGE', reason: `negative value ${raw}` };
      if (!DECIMAL.test(raw))
        return { ok: false, code: 'NOT_DECIMAL', reason: `${JSON.stringify(raw)} is not a non-negative decimal` };
      const n = Number(raw);
      if (n > MAX_DECIMAL) return { ok: false, code: 'OUT_OF_RANGE', reason: `${raw} exceeds ${MAX_DECIMAL}` };
      return { ok: true, value: n };
    }
    case 'time':
      return convertTime(field, raw);
  }
}

function convertTime(field: string, raw: string): Converted {
  let seconds: number;
  if (INTEGER.test(raw)) {
    seconds = Number(raw);
  } else if (ISO_WITH_ZONE.test(raw)) {
    const parsed = DateTime.fromISO(raw, { zone: 'utc' });
    if (!parsed.isValid)
      return { ok: false, code: 'BAD_TIME', reason: `${JSON.stringify(raw)} is not a valid ISO 8601 time` };
    seconds = Math.floor(parsed.toSeconds());
  } else {
    return {
      ok: false,
      code: 'BAD_TIME',
      reason: `${JSON.stringify(raw)} is neither epoch seconds nor an ISO 8601 time with a zone (Z)`,
    };
  }
  if (seconds > MAX_EPOCH) return { ok: false, code: 'OUT_OF_RANGE', reason: `${raw} is after year 9999` };
  // `EndTime: 0` is how cASO says "not ended".
  if (field === 'EndTime' && seconds === 0) return { ok: true, value: null };
  return { ok: true, value: seconds };
}

interface RawLine {
  line: number;
  text: string;
}

/** Parses one record's lines; returns the record or the errors that reject it. */
function parseRecord(
  lines: readonly RawLine[],
  fields: Record<string, FieldSpec>,
  version: ApelCloudVersion,
  message: string,
  index: number,
): { record: CloudUsageRecord; errors: RecordError[]; siteName: string | null } {
  const record: Record<string, unknown> = { ...EMPTY_RECORD };
  const errors: RecordError[] = [];
  const seen = new Map<string, number>();
  let siteName: string | null = null;
  const fail = (line: number | null, field: string | null, code: string, reason: string) =>
    errors.push({ message, record: index, line, field, code, reason });
  for (const { line, text } of lines) {
    const colon = text.indexOf(':');
    if (colon === -1) {
      fail(line, null, 'NOT_KEY_VALUE', `line ${JSON.stringify(text.trim())} is not "Key: Value"`);
      continue;
    }
    const key = text.slice(0, colon).trim();
    const raw = text.slice(colon + 1).trim();
    const first = seen.get(key);
    if (first !== undefined) {
      fail(
        line,
        key,
        'REPEATED_FIELD',
        `${key} already given on line ${first}; a "%%" between two records is probably missing`,
      );
      continue;
    }
    seen.set(key, line);
    if (IGNORED.has(key)) continue;
    const spec = fields[key];
    if (!spec) {
      const reason = V04_ONLY[key]
        ? `${key} is not a field of ${version} (it appears in v0.4)`
        : `unknown field ${JSON.stringify(key)}`;
      fail(line, key, 'UNKNOWN_FIELD', reason);
      continue;
    }
    const converted = convert(spec.kind, key, raw);
    if (!converted.ok) {
      fail(line, key, converted.code, converted.reason);
      continue;
    }
    record[spec.key] = converted.value;
    if (key === 'SiteName') siteName = converted.value as string | null;
  }
  for (const key of MANDATORY) {
    const spec = fields[key]!;
    if (record[spec.key] === '' || record[spec.key] === null) {
      const at = seen.get(key);
      if (errors.some((e) => e.field === key)) continue;
      fail(
        at ?? lines[0]?.line ?? null,
        key,
        at === undefined ? 'MISSING_FIELD' : 'NULL_FIELD',
        at === undefined ? `${key} is mandatory` : `${key} is mandatory and may not be null`,
      );
    }
  }
  const typed = record as CloudUsageRecord;
  Object.assign(typed, splitFqan(typed.fqan));
  return { record: typed, errors, siteName };
}

/** Parses an `APEL-cloud-message` body. `message` names it in errors (a file name or message id). */
export function parseApelCloudMessage(text: string, message: string): ParsedCloudMessage {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = lines[0]!.trim();
  const version = header.startsWith(HEADER_PREFIX)
    ? (header.slice(HEADER_PREFIX.length).trim() as ApelCloudVersion)
    : null;
  if (version === null || !VERSIONS.includes(version)) {
    const reason =
      version === null
        ? `first line must be "${HEADER_PREFIX}v0.4" (or v0.2, v0.1; the header is case-sensitive), got ${JSON.stringify(header.slice(0, 80))}`
        : `unsupported version ${JSON.stringify(version)} (expected ${VERSIONS.join(', ')})`;
    return {
      version: null,
      records: [],
      rejected: [
        {
          index: null,
          line: 1,
          text,
          siteName: null,
          errors: [{ message, record: null, line: 1, field: null, code: 'BAD_HEADER', reason }],
        },
      ],
    };
  }
  const fields = FIELDS_BY_VERSION[version];
  const records: ParsedCloudRecord[] = [];
  const rejected: RejectedCloudRecord[] = [];
  let current: RawLine[] = [];
  let index = 0;
  const close = () => {
    if (current.length === 0) return;
    index += 1;
    const { record, errors, siteName } = parseRecord(current, fields, version, message, index);
    const line = current[0]!.line;
    if (errors.length === 0) records.push({ index, line, record });
    else rejected.push({ index, line, text: current.map((l) => l.text).join('\n'), errors, siteName });
    current = [];
  };
  for (let i = 1; i < lines.length; i++) {
    const trimmed = lines[i]!.trim();
    if (trimmed === '%%') close();
    else if (trimmed !== '') current.push({ line: i + 1, text: lines[i]! });
  }
  close();
  return { version, records, rejected };
}

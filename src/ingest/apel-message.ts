/**
 * Parser for `APEL-cloud-message` bodies (v0.1, v0.2, v0.4), following
 * DOMAIN §1. Pure: text in, typed records and located errors out. A bad
 * record is reported on its own; the other records of the message stand.
 */
import { DateTime } from 'luxon';
import { type CloudUsageRecord, excerpt, type RecordError } from '../events/catalogue.ts';

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
  /** 1-based line of the record's last line; null when index is null. */
  lastLine: number | null;
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

const HEADER_NAME = 'APEL-cloud-message';
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

/** Keys APEL accepts and ignores. */
const IGNORED = ['UpdateTime', 'MeasurementTime', 'MeasurementMonth', 'MeasurementYear'];

/** A key a version accepts: its slot in a record's table of first lines, and its field (null: ignored). */
interface AcceptedKey {
  slot: number;
  spec: FieldSpec | null;
}

/** Every key any version accepts, in slot order: a record notes where each was first given by slot, not by name. */
const SLOTS = [...Object.keys(V02_FIELDS), ...Object.keys(V04_ONLY), ...IGNORED];

/** Looked up once per line, so a Map (and no prototype keys such as `constructor`). */
function acceptedKeys(specs: Record<string, FieldSpec>): ReadonlyMap<string, AcceptedKey> {
  const names = [...Object.keys(specs), ...IGNORED];
  return new Map(names.map((name) => [name, { slot: SLOTS.indexOf(name), spec: specs[name] ?? null }]));
}

const KEYS_BY_VERSION: Record<ApelCloudVersion, ReadonlyMap<string, AcceptedKey>> = {
  'v0.1': acceptedKeys(V02_FIELDS),
  'v0.2': acceptedKeys(V02_FIELDS),
  'v0.4': acceptedKeys({ ...V02_FIELDS, ...V04_ONLY }),
};
const MANDATORY = ['VMUUID', 'SiteName'] as const;

const DECIMAL = /^\d+(\.\d+)?$/;
const NEGATIVE_NUMBER = /^-\d+(\.\d+)?$/;
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|([+-])(\d{2}):?(\d{2}))$/;
/** UTC offsets in use run from -12:00 to +14:00 (luxon would take up to +99:99). */
const MIN_OFFSET_MINUTES = -12 * 60;
const MAX_OFFSET_MINUTES = 14 * 60;
/** How much of an offending input an error reason quotes: a 1 MB key must not make a 1 MB reason. */
const ECHO_CHARS = 200;
const BOM = 0xfeff;
const LF = '\n';
const CR = 13;
const SPACE = 32;
const TAB = 9;
/** Character codes of `0` and `9`. */
const ZERO = 48;
const NINE = 57;

/** A record with every field null (the mandatory texts empty); one literal, so every record shares one shape. */
function emptyRecord(): CloudUsageRecord {
  return {
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
  };
}

export const EMPTY_RECORD: Readonly<CloudUsageRecord> = Object.freeze(emptyRecord());

type Vo = Pick<CloudUsageRecord, 'vo' | 'voGroup' | 'voRole'>;

/** VO, VOGroup and VORole from an FQAN (DOMAIN §1 "FQAN → VO"). */
export function splitFqan(fqan: string | null): Vo {
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

/** A site sends the same few FQANs in every record: split each once. Bounded, emptied when full. */
const FQAN_CACHE = new Map<string, Vo>();
const FQAN_CACHE_SIZE = 1024;

function cachedSplitFqan(fqan: string): Vo {
  let vo = FQAN_CACHE.get(fqan);
  if (vo === undefined) {
    if (FQAN_CACHE.size >= FQAN_CACHE_SIZE) FQAN_CACHE.clear();
    vo = splitFqan(fqan);
    FQAN_CACHE.set(fqan, vo);
  }
  return vo;
}

/** Sets the record's VO, VOGroup and VORole from its FQAN (all stay null without one). */
function fillVo(record: CloudUsageRecord): void {
  if (record.fqan === null) return;
  const { vo, voGroup, voRole } = cachedSplitFqan(record.fqan);
  record.vo = vo;
  record.voGroup = voGroup;
  record.voRole = voRole;
}

/** A refused value. A good value is returned bare: no result object per value on the hot path. */
class Invalid {
  constructor(
    readonly code: string,
    readonly reason: string,
  ) {}
}

type Value = string | number | null;

const isNull = (raw: string) => raw === '' || raw === 'None' || raw === 'NULL';

/** Input as an error shows it: whole up to ECHO_CHARS characters, else cut there with an ellipsis and its length. */
const echoed = (raw: string) => excerpt(raw, ECHO_CHARS);

/** The same, quoted as a JSON string. */
const quoted = (raw: string) =>
  raw.length <= ECHO_CHARS
    ? JSON.stringify(raw)
    : `${JSON.stringify(raw.slice(0, ECHO_CHARS))}… (${raw.length} characters)`;

/**
 * The value of a string of ASCII digits, or undefined if it has anything else. Exact below 2^53; at or
 * beyond it the result is still at or beyond 2^53, which is all the range checks need to know.
 */
function plainDigits(raw: string): number | undefined {
  if (raw.length === 0) return undefined;
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c < ZERO || c > NINE) return undefined;
    n = n * 10 + (c - ZERO);
  }
  return n;
}

function convert(kind: Kind, field: string, raw: string): Value | Invalid {
  if (isNull(raw)) return null;
  switch (kind) {
    case 'text':
      return raw.length > MAX_TEXT
        ? new Invalid('OUT_OF_RANGE', `longer than ${MAX_TEXT} characters (${raw.length})`)
        : raw;
    case 'integer':
      return convertInteger(raw);
    case 'decimal':
      return convertDecimal(raw);
    case 'time':
      return convertTime(field, raw);
  }
}

function convertInteger(raw: string): number | Invalid {
  const n = plainDigits(raw);
  if (n === undefined)
    return NEGATIVE_NUMBER.test(raw)
      ? new Invalid('OUT_OF_RANGE', `negative value ${echoed(raw)}`)
      : new Invalid('NOT_INTEGER', `${quoted(raw)} is not a non-negative integer`);
  // Beyond 2^53 a JS number no longer holds the exact value; no real duration, count or size gets there.
  if (!Number.isSafeInteger(n)) return new Invalid('OUT_OF_RANGE', `${echoed(raw)} exceeds ${Number.MAX_SAFE_INTEGER}`);
  return n;
}

function convertDecimal(raw: string): number | Invalid {
  const n = plainDigits(raw) ?? (DECIMAL.test(raw) ? Number(raw) : undefined);
  if (n === undefined)
    return NEGATIVE_NUMBER.test(raw)
      ? new Invalid('OUT_OF_RANGE', `negative value ${echoed(raw)}`)
      : new Invalid('NOT_DECIMAL', `${quoted(raw)} is not a non-negative decimal`);
  if (n > MAX_DECIMAL) return new Invalid('OUT_OF_RANGE', `${raw} exceeds ${MAX_DECIMAL}`);
  return n;
}

function convertTime(field: string, raw: string): number | null | Invalid {
  let seconds = plainDigits(raw);
  if (seconds === undefined) {
    const iso = ISO_WITH_ZONE.exec(raw);
    if (iso === null)
      return new Invalid('BAD_TIME', `${quoted(raw)} is neither epoch seconds nor an ISO 8601 time with a zone (Z)`);
    const [, , , , sign, hours, minutes] = iso;
    if (sign !== undefined) {
      const offset = (sign === '-' ? -1 : 1) * (Number(hours) * 60 + Number(minutes));
      if (Number(minutes) > 59 || offset < MIN_OFFSET_MINUTES || offset > MAX_OFFSET_MINUTES)
        return new Invalid(
          'BAD_TIME',
          `${quoted(raw)} has UTC offset ${sign}${hours}:${minutes}, outside -12:00 to +14:00`,
        );
    }
    const parsed = DateTime.fromISO(raw, { zone: 'utc' });
    if (!parsed.isValid) return new Invalid('BAD_TIME', `${quoted(raw)} is not a valid ISO 8601 time`);
    seconds = Math.floor(parsed.toSeconds());
  }
  if (seconds > MAX_EPOCH) return new Invalid('OUT_OF_RANGE', `${echoed(raw)} is after year 9999`);
  // `EndTime: 0` is how cASO says "not ended".
  if (field === 'EndTime' && seconds === 0) return null;
  return seconds;
}

/** What a record's lines build up while they are read. */
interface Draft {
  readonly message: string;
  readonly index: number;
  readonly version: ApelCloudVersion;
  readonly keys: ReadonlyMap<string, AcceptedKey>;
  readonly record: CloudUsageRecord;
  readonly errors: RecordError[];
  /** By slot, the line on which each accepted key was first given; 0 if not given (line 1 is the header). */
  readonly firstLines: number[];
  /** The same for keys the version does not accept; made on the first one. */
  unknownLines: Map<string, number> | null;
}

/** Reads a line that held invalid UTF-8: an error naming its field, and no value. */
function readInvalidUtf8(d: Draft, line: number, key: string | null): void {
  fail(
    d,
    line,
    key,
    'INVALID_UTF8',
    key === null ? 'the line is not valid UTF-8' : `the value of ${echoed(key)} is not valid UTF-8`,
  );
}

function fail(d: Draft, line: number, field: string | null, code: string, reason: string): void {
  d.errors.push({
    message: d.message,
    record: d.index,
    line,
    field: field === null ? null : echoed(field),
    code,
    reason,
  });
}

function failRepeated(d: Draft, line: number, key: string, first: number): void {
  fail(
    d,
    line,
    key,
    'REPEATED_FIELD',
    `${echoed(key)} already given on line ${first}; a "%%" between two records is probably missing`,
  );
}

/** Reads one `Key: Value` line into the draft. */
function readField(d: Draft, line: number, key: string, raw: string): void {
  const accepted = d.keys.get(key);
  if (accepted === undefined) return readUnknownField(d, line, key);
  const first = d.firstLines[accepted.slot]!;
  if (first !== 0) return failRepeated(d, line, key, first);
  d.firstLines[accepted.slot] = line;
  const { spec } = accepted;
  if (spec === null) return;
  const value = convert(spec.kind, key, raw);
  if (value instanceof Invalid) fail(d, line, key, value.code, value.reason);
  else (d.record as unknown as Record<RecordKey, Value>)[spec.key] = value;
}

function readUnknownField(d: Draft, line: number, key: string): void {
  d.unknownLines ??= new Map();
  const first = d.unknownLines.get(key);
  if (first !== undefined) return failRepeated(d, line, key, first);
  d.unknownLines.set(key, line);
  const reason = KEYS_BY_VERSION['v0.4'].has(key)
    ? `${key} is not a field of ${d.version} (it appears in v0.4)`
    : `unknown field ${quoted(key)}`;
  fail(d, line, key, 'UNKNOWN_FIELD', reason);
}

/** Rejects a record whose mandatory field is absent or null, unless that field already has an error. */
function checkMandatory(d: Draft, firstLine: number): void {
  for (const key of MANDATORY) {
    const { slot, spec } = d.keys.get(key)!;
    const value = d.record[spec!.key];
    if (value !== '' && value !== null) continue;
    if (d.errors.some((e) => e.field === key)) continue;
    const at = d.firstLines[slot]!;
    fail(
      d,
      at === 0 ? firstLine : at,
      key,
      at === 0 ? 'MISSING_FIELD' : 'NULL_FIELD',
      at === 0 ? `${key} is mandatory` : `${key} is mandatory and may not be null`,
    );
  }
}

/** Where the next line starts and which line it is; the parser's only moving state. */
interface Cursor {
  readonly text: string;
  at: number;
  line: number;
  /**
   * The first `:` at or after the last line searched (the text's length if none): lines without one search no
   * further than the next line that has one, so every character is searched once.
   */
  nextColon: number;
  /** Lines whose bytes were not valid UTF-8 (see utf8-lines.ts); null when there are none. */
  readonly invalidLines: ReadonlySet<number> | null;
}

/** The index of the first `char` at or after `from`, or the text's length. */
function nextOrEnd(text: string, char: string, from: number): number {
  const at = text.indexOf(char, from);
  return at === -1 ? text.length : at;
}

/** Where the line from `start` to its break ends without the `\r` of a CRLF (only a `\r` before a `\n` is a line end). */
function contentEnd(text: string, start: number, lineEnd: number): number {
  const crlf = lineEnd < text.length && lineEnd > start && text.charCodeAt(lineEnd - 1) === CR;
  return crlf ? lineEnd - 1 : lineEnd;
}

/**
 * The text from `from` to `to`, trimmed. Leading blanks are skipped before slicing, so a value after `Key: `
 * costs one string, not a slice and then its trimmed copy (bench:accounting).
 */
function trimmedSlice(text: string, from: number, to: number): string {
  let at = from;
  while (at < to && (text.charCodeAt(at) === SPACE || text.charCodeAt(at) === TAB)) at++;
  return text.slice(at, to).trim();
}

/** A rejected record's lines as quarantine keeps them: blank lines dropped, joined with `\n`. */
function recordLines(span: string): string {
  return span
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .join('\n');
}

/**
 * Reads the lines up to the next `%%` (or the end) as one record, into `out.records` or `out.rejected`.
 * Returns false, reading nothing into `out`, when those lines were all blank.
 */
function readRecord(
  c: Cursor,
  version: ApelCloudVersion,
  message: string,
  index: number,
  out: ParsedCloudMessage,
): boolean {
  const { text } = c;
  const d: Draft = {
    message,
    index,
    version,
    keys: KEYS_BY_VERSION[version],
    record: emptyRecord(),
    errors: [],
    firstLines: new Array<number>(SLOTS.length).fill(0),
    unknownLines: null,
  };
  let firstLine = 0;
  let lastLine = 0;
  let from = -1;
  let to = text.length;
  while (c.at <= text.length) {
    const start = c.at;
    const line = c.line;
    const lineEnd = nextOrEnd(text, LF, start);
    c.at = lineEnd + 1;
    c.line += 1;
    const end = contentEnd(text, start, lineEnd);
    if (c.nextColon < start) c.nextColon = nextOrEnd(text, ':', start);
    const colon = c.nextColon < end ? c.nextColon : -1;
    if (c.invalidLines !== null && c.invalidLines.has(line)) {
      readInvalidUtf8(d, line, colon === -1 ? null : trimmedSlice(text, start, colon));
    } else if (colon === -1) {
      const trimmed = text.slice(start, end).trim();
      if (trimmed === '%%') {
        to = start;
        break;
      }
      if (trimmed === '') continue;
      fail(d, line, null, 'NOT_KEY_VALUE', `line ${quoted(trimmed)} is not "Key: Value"`);
    } else {
      readField(d, line, trimmedSlice(text, start, colon), trimmedSlice(text, colon + 1, end));
    }
    if (from === -1) {
      from = start;
      firstLine = line;
    }
    lastLine = line;
  }
  if (from === -1) return false;
  checkMandatory(d, firstLine);
  const { record, errors } = d;
  fillVo(record);
  if (errors.length === 0) {
    out.records.push({ index, line: firstLine, record });
  } else {
    // '' is the untouched default: a SiteName that was read is a string or null.
    const siteName = record.siteName === '' ? null : record.siteName;
    out.rejected.push({ index, line: firstLine, lastLine, text: recordLines(text.slice(from, to)), errors, siteName });
  }
  return true;
}

/**
 * Parses an `APEL-cloud-message` body. `message` names it in errors (a file name or message id); a record with a
 * line in `invalidLines` (bytes that were not UTF-8) is rejected, naming the line's field.
 */
export function parseApelCloudMessage(
  text: string,
  message: string,
  invalidLines: readonly number[] = [],
): ParsedCloudMessage {
  const body = text.charCodeAt(0) === BOM ? text.slice(1) : text;
  const headerEnd = nextOrEnd(body, LF, 0);
  const header = body.slice(0, headerEnd).trim();
  // The header splits like any line: at its first colon, both sides trimmed (`APEL-cloud-message:v0.4` is valid).
  const colon = header.indexOf(':');
  const version =
    colon !== -1 && header.slice(0, colon).trim() === HEADER_NAME
      ? (header.slice(colon + 1).trim() as ApelCloudVersion)
      : null;
  if (version === null || !VERSIONS.includes(version)) {
    const reason =
      version === null
        ? `first line must be "${HEADER_NAME}: v0.4" (or v0.2, v0.1; the header is case-sensitive), got ${quoted(header)}`
        : `unsupported version ${quoted(version)} (expected ${VERSIONS.join(', ')})`;
    return {
      version: null,
      records: [],
      rejected: [
        {
          index: null,
          line: 1,
          lastLine: null,
          text,
          siteName: null,
          errors: [{ message, record: null, line: 1, field: null, code: 'BAD_HEADER', reason }],
        },
      ],
    };
  }
  const out: ParsedCloudMessage = { version, records: [], rejected: [] };
  const cursor: Cursor = {
    text: body,
    at: headerEnd + 1,
    line: 2,
    nextColon: -1,
    invalidLines: invalidLines.length === 0 ? null : new Set(invalidLines),
  };
  let index = 0;
  while (cursor.at <= body.length) if (readRecord(cursor, version, message, index + 1, out)) index += 1;
  return out;
}

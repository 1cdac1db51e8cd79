/**
 * Ingest of APEL cloud messages, shared by the CLI and the HTTP push
 * endpoint, as the domain's steps: a message is decoded and parsed, its
 * records validated (apel-message.ts), a push checked against its
 * publisher's site, each valid record identified by its VM's stream and
 * encoded as one CloudUsageRecorded (codec.ts), the rejected ones
 * quarantined (quarantine.ts), and the events appended. `prepareApelMessage`
 * is every step but the append: it needs no event log, so a
 * `MessagePreparer` can run it on a parser thread (ingest-many.ts).
 * Framework-free.
 */
import { createHash } from 'node:crypto';
import { UserError } from '../errors.ts';
import type { StreamEvent } from '../eventlog/append-by-stream.ts';
import type { EventLog } from '../eventlog/port.ts';
import { type RecordError, streams } from '../events/catalogue.ts';
import { usageEncoder } from '../events/codec.ts';
import { sha256Hex } from '../events/ids.ts';
import { parseApelCloudMessage, type ParsedCloudRecord, type RejectedCloudRecord } from './apel-message.ts';
import { findRejected, quarantinedApelRecords, resolveResubmitted } from './quarantine.ts';
import { decodeUtf8Lines } from './utf8-lines.ts';

export interface IngestOptions {
  /** Who sent it: a site token's subject, `cli:<file>`, ... */
  publisher: string;
  /** How errors name the message (a file name); defaults to the message id. */
  messageName?: string;
  /** When set, every record's SiteName must equal it (a site pushing its own records). */
  allowedSite?: string;
  /** Receipt time; defaults to now. */
  receivedAt?: Date;
}

export interface IngestError {
  message: string;
  record: number | null;
  line: number | null;
  field: string | null;
  reason: string;
}

export interface IngestResult {
  accepted: number;
  unchanged: number;
  rejected: number;
  errors: IngestError[];
}

/** A record names another site than the submitter's: the whole message is refused (HTTP 403). */
export class SiteMismatchError extends UserError {
  constructor(
    message: string,
    record: number | null,
    line: number | null,
    siteName: string | null,
    allowedSite: string,
  ) {
    super(
      'SITE_MISMATCH',
      `${message}: record ${record ?? '?'} (line ${line ?? '?'}) has SiteName ${JSON.stringify(siteName)}, but this publisher may only submit records for ${JSON.stringify(allowedSite)}`,
      { message, ...(record === null ? {} : { record }), ...(line === null ? {} : { line }), field: 'SiteName' },
    );
  }
}

/** sha256 of a message as received: of its bytes, or of the UTF-8 of its text (the same for valid UTF-8). */
export const sourceMessageIdOf = (message: string | Uint8Array) =>
  typeof message === 'string' ? sha256Hex(message) : createHash('sha256').update(message).digest('hex');

const publicError = (e: RecordError): IngestError => ({
  message: e.message,
  record: e.record,
  line: e.line,
  field: e.field,
  reason: e.reason,
});

function checkSites(
  message: string,
  records: ParsedCloudRecord[],
  rejected: RejectedCloudRecord[],
  allowedSite: string,
): void {
  const offending = [
    ...records.map((r) => ({ index: r.index, line: r.line, site: r.record.siteName })),
    ...rejected.filter((r) => r.siteName !== null).map((r) => ({ index: r.index, line: r.line, site: r.siteName })),
  ]
    .filter((r) => r.site !== allowedSite)
    .sort((a, b) => (a.index ?? 0) - (b.index ?? 0))[0];
  if (offending) throw new SiteMismatchError(message, offending.index, offending.line, offending.site, allowedSite);
}

/** A message parsed into the appends it makes; nothing is written yet. */
export interface PreparedMessage {
  name: string;
  /** One usage event per accepted record, in record order. */
  appends: StreamEvent[];
  /** The message, once, and one rejected-record event per bad record (none when every record was good). */
  quarantined: StreamEvent[];
  rejected: number;
  errors: IngestError[];
}

/**
 * Parses a message and builds its events: the part of an ingest that needs no event log. Bytes are decoded here,
 * at the boundary: a record with a line that is not valid UTF-8 is rejected.
 */
export function prepareApelMessage(received: string | Uint8Array, options: IngestOptions): PreparedMessage {
  const sourceMessageId = sourceMessageIdOf(received);
  const message = options.messageName ?? sourceMessageId;
  const { text, invalidLines } =
    typeof received === 'string' ? { text: received, invalidLines: [] } : decodeUtf8Lines(received);
  const parsed = parseApelCloudMessage(text, message, invalidLines);
  if (options.allowedSite !== undefined) checkSites(message, parsed.records, parsed.rejected, options.allowedSite);
  const receivedAt = (options.receivedAt ?? new Date()).toISOString();
  const messageVersion = parsed.version ?? 'unknown';
  const encodeUsage = usageEncoder(
    { receivedAt, publisher: options.publisher, sourceMessageId, messageVersion },
    'parser',
  );
  const appends = parsed.records.map((r) => ({
    stream: streams.vm(r.record.siteName, r.record.vmUuid),
    event: encodeUsage(r.record, r.index),
  }));
  const quarantined = quarantinedApelRecords(
    { sourceMessageId, text, receivedAt, publisher: options.publisher },
    parsed.version,
    parsed.rejected,
  );
  const errors = parsed.rejected.flatMap((r) => r.errors.map(publicError));
  return { name: message, appends, quarantined, rejected: parsed.rejected.length, errors };
}

/**
 * Appends a prepared message: its records, then its quarantined records, in
 * one call issued before the first await, so messages appended one after
 * another keep their order in the log and share the embedded store's
 * transactions.
 */
export async function appendPrepared(
  log: EventLog,
  prepared: PreparedMessage,
  alongside: readonly StreamEvent[] = [],
): Promise<IngestResult> {
  const requests = [...prepared.appends, ...prepared.quarantined, ...alongside].map((a) => ({
    stream: a.stream,
    events: [a.event],
  }));
  const results = await log.appendMany(requests);
  let accepted = 0;
  for (let i = 0; i < prepared.appends.length; i++) if (results[i]!.written > 0) accepted += 1;
  return {
    accepted,
    unchanged: prepared.appends.length - accepted,
    rejected: prepared.rejected,
    errors: prepared.errors,
  };
}

/** Ingests one message on this thread (a site's push, a correction, the demo). */
export async function ingestApelMessage(
  log: EventLog,
  text: string | Uint8Array,
  options: IngestOptions,
): Promise<IngestResult> {
  return appendPrepared(log, prepareApelMessage(text, options));
}

/** Adds results of several messages. */
export function addResults(a: IngestResult, b: IngestResult): IngestResult {
  return {
    accepted: a.accepted + b.accepted,
    unchanged: a.unchanged + b.unchanged,
    rejected: a.rejected + b.rejected,
    errors: [...a.errors, ...b.errors],
  };
}

export const EMPTY_RESULT: IngestResult = Object.freeze({ accepted: 0, unchanged: 0, rejected: 0, errors: [] });

export interface ResubmitOptions {
  /** Who corrected it (recorded in QuarantineResolved). */
  by: string;
  allowedSite?: string;
  receivedAt?: Date;
}

/**
 * Re-submits a corrected quarantined record: `correctedText` is the record's
 * lines (without header), or the whole corrected message when the original
 * message was rejected as a whole (recordIndex null). The record keeps its
 * original message and index as provenance. If it is still bad, nothing is
 * resolved and the errors are returned.
 */
export async function resubmitCorrected(
  log: EventLog,
  sourceMessageId: string,
  recordIndex: number | null,
  correctedText: string,
  options: ResubmitOptions,
): Promise<IngestResult> {
  const original = await findRejected(log, sourceMessageId, recordIndex);
  const receivedAt = options.receivedAt ?? new Date();
  let result: IngestResult;
  if (recordIndex === null) {
    result = await ingestApelMessage(log, correctedText, {
      publisher: original.publisher,
      messageName: `correction of ${sourceMessageId}`,
      receivedAt,
      ...(options.allowedSite === undefined ? {} : { allowedSite: options.allowedSite }),
    });
  } else {
    const header = `APEL-cloud-message: ${original.messageVersion}`;
    const name = `correction of ${sourceMessageId} record ${recordIndex}`;
    const parsed = parseApelCloudMessage(`${header}\n${correctedText.trim()}\n`, name);
    if (parsed.rejected.length > 0 || parsed.records.length !== 1) {
      const errors = parsed.rejected.flatMap((r) => r.errors.map(publicError));
      if (parsed.records.length + parsed.rejected.length !== 1)
        errors.push({
          message: name,
          record: null,
          line: null,
          field: null,
          reason: 'a correction must hold exactly one record',
        });
      return { accepted: 0, unchanged: 0, rejected: 1, errors };
    }
    if (options.allowedSite !== undefined) checkSites(name, parsed.records, [], options.allowedSite);
    const record = parsed.records[0]!.record;
    const encodeUsage = usageEncoder(
      {
        receivedAt: receivedAt.toISOString(),
        publisher: original.publisher,
        sourceMessageId,
        messageVersion: parsed.version!,
      },
      'parser',
    );
    const written = await log.append(streams.vm(record.siteName, record.vmUuid), [encodeUsage(record, recordIndex)]);
    result = { accepted: written.written, unchanged: 1 - written.written, rejected: 0, errors: [] };
  }
  if (result.rejected === 0) await resolveResubmitted(log, sourceMessageId, recordIndex, options.by, receivedAt);
  return result;
}

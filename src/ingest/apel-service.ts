/**
 * Ingest of APEL cloud messages, shared by the CLI and the HTTP push
 * endpoint: parse, append one CloudUsageRecorded per valid record to its
 * VM's stream, quarantine the bad ones (see quarantine.ts). Framework-free.
 */
import { UserError } from '../errors.ts';
import type { EventLog, NewEvent } from '../eventlog/port.ts';
import {
  type CloudUsageRecord,
  newEvent,
  parsedEvent,
  type RecordError,
  streams,
  validated,
} from '../events/catalogue.ts';
import { createHash } from 'node:crypto';
import { CanonicalJson, sha256Hex } from '../events/ids.ts';
import { parseApelCloudMessage, type ParsedCloudRecord, type RejectedCloudRecord } from './apel-message.ts';
import { findRejected, quarantinedApelRecords } from './quarantine.ts';
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

/** Where a message's records came from (a collector run counts as a message). */
export interface Provenance {
  receivedAt: string;
  publisher: string;
  sourceMessageId: string;
  messageVersion: string;
}

/**
 * Builds the usage events of one message. A record's id hashes its type and the record's JSON, keys in catalogue
 * order (VMUUID plus content, whatever message carried it); the event's JSON embeds that same text, and the
 * provenance's part of it is written once per message: at a million records, building a separate identity text
 * cost the parser thread more than the hash (bench:accounting). Records from the APEL parser (`from: 'parser'`)
 * are in catalogue order and passed rules stricter than the event's schema; others are validated, which also puts
 * their keys in that order.
 */
export function usageEventBuilder(
  provenance: Provenance,
  from: 'parser' | 'elsewhere' = 'elsewhere',
): (record: CloudUsageRecord, recordIndex: number) => NewEvent {
  const { receivedAt, publisher, sourceMessageId, messageVersion } = provenance;
  // The keys in the schema's order, which validation gives the data too.
  const beforeIndex = `,"receivedAt":${JSON.stringify(receivedAt)},"publisher":${JSON.stringify(publisher)},"sourceMessageId":${JSON.stringify(sourceMessageId)},"recordIndex":`;
  const afterIndex = `,"messageVersion":${JSON.stringify(messageVersion)}}`;
  return (given, recordIndex) => {
    const data = { record: given, receivedAt, publisher, sourceMessageId, recordIndex, messageVersion };
    const checked = from === 'parser' ? data : validated('CloudUsageRecorded', data);
    const recordJson = JSON.stringify(checked.record);
    return parsedEvent(
      'CloudUsageRecorded',
      checked,
      new CanonicalJson(recordJson),
      `{"record":${recordJson}${beforeIndex}${checked.recordIndex}${afterIndex}`,
    );
  };
}

/** The usage event of a single record. */
export function usageEvent(
  record: CloudUsageRecord,
  { recordIndex, ...provenance }: Provenance & { recordIndex: number },
  from: 'parser' | 'elsewhere' = 'elsewhere',
): NewEvent {
  return usageEventBuilder(provenance, from)(record, recordIndex);
}

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

/** One append of a prepared message: the event and the stream it goes to. */
export interface StreamAppend {
  stream: string;
  event: NewEvent;
}

/** A message parsed into the appends it makes; nothing is written yet. */
export interface PreparedMessage {
  name: string;
  /** One usage event per accepted record, in record order. */
  appends: StreamAppend[];
  /** The message, once, and one rejected-record event per bad record (none when every record was good). */
  quarantined: StreamAppend[];
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
  const usage = usageEventBuilder(
    { receivedAt, publisher: options.publisher, sourceMessageId, messageVersion },
    'parser',
  );
  const appends = parsed.records.map((r) => ({
    stream: streams.vm(r.record.siteName, r.record.vmUuid),
    event: usage(r.record, r.index),
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
  alongside: readonly StreamAppend[] = [],
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

export interface IncomingMessage {
  name: string;
  /** Text, or bytes that prepareApelMessage decodes (files and HTTP bodies). */
  text: string | Uint8Array;
}

/** A message as a preparer hands it on: prepared, or the error preparing it raised (thrown at its turn). */
export type Preparation = PreparedMessage | { name: string; error: unknown };

/** Where messages are parsed into events: on this thread (`prepareHere`), or on a parser thread (`prepareOnThread`). */
export type MessagePreparer = (
  messages: Iterable<IncomingMessage>,
  options: Omit<IngestOptions, 'messageName'>,
) => AsyncIterable<Preparation> | Iterable<Preparation>;

/** Prepares each message on this thread, as `ingestMany` takes it. */
export function* prepareHere(
  messages: Iterable<IncomingMessage>,
  options: Omit<IngestOptions, 'messageName'>,
): Generator<Preparation> {
  for (const { name, text } of messages) {
    try {
      yield prepareApelMessage(text, { ...options, messageName: name });
    } catch (error) {
      yield { name, error };
    }
  }
}

/**
 * The preparations, and then, if preparing or reading the messages failed, that error as one more item: it is
 * thrown at its turn, after the messages before it completed (and were marked done).
 */
async function* failingInTurn(
  preparations: AsyncIterable<Preparation> | Iterable<Preparation>,
): AsyncGenerator<Preparation> {
  try {
    yield* preparations;
  } catch (error) {
    yield { name: '', error };
  }
}

/**
 * Records per group commit in `ingestMany`. Each commit rewrites the pages of the stream index that its appends
 * touch, one per VM reporting: at 10,000 records rather than the 1,500 or so a tick gathered, the appending
 * thread wrote 45% fewer bytes (bench:accounting).
 */
export const GROUP_RECORDS = 10_000;

/**
 * Ingests messages in order, in groups of at least `groupRecords` records
 * (the last may be smaller): a group's appends are issued together, so they
 * land in the log in order (last received wins) and the embedded store
 * commits them in one transaction. At most two groups are in flight: one
 * committing while the next is prepared. `onIngested` runs as each message
 * completes, in order; a message that fails stops the ingest at its turn,
 * after the ones before it completed. `prepare` says where messages are parsed;
 * `alongside` gives appends that go in the same call as a message's own.
 */
export async function ingestMany(
  log: EventLog,
  messages: Iterable<IncomingMessage>,
  options: Omit<IngestOptions, 'messageName'> & {
    groupRecords?: number;
    onIngested?: (name: string, result: IngestResult) => void;
    prepare?: MessagePreparer;
    alongside?: (name: string) => readonly StreamAppend[];
  },
): Promise<IngestResult> {
  const { groupRecords = GROUP_RECORDS, onIngested, prepare = prepareHere, alongside, ...ingestOptions } = options;
  let total = EMPTY_RESULT;
  let collecting: Preparation[] = [];
  let collected = 0;
  let issued: { name: string; result: Promise<IngestResult> }[] = [];
  const settle = async (group: typeof issued) => {
    for (const { name, result } of group) {
      const r = await result;
      onIngested?.(name, r);
      total = addResults(total, r);
    }
  };
  /** Issues the collected messages, then waits for the group issued before them. */
  const issue = async () => {
    const group = collecting.map((p) => ({
      name: p.name,
      result: 'error' in p ? Promise.reject(p.error) : appendPrepared(log, p, alongside?.(p.name)),
    }));
    // Keep each rejection handled until its turn comes, so one bad message cannot crash the process early.
    for (const { result } of group) result.catch(() => undefined);
    collecting = [];
    collected = 0;
    const previous = issued;
    issued = group;
    await settle(previous);
  };
  for await (const prepared of failingInTurn(prepare(messages, ingestOptions))) {
    collecting.push(prepared);
    if ('error' in prepared) {
      await issue();
      // Throws at the failed message, once the ones before it completed.
      await settle(issued);
    } else {
      collected += prepared.appends.length + prepared.quarantined.length;
      if (collected >= groupRecords) await issue();
    }
  }
  await issue();
  await settle(issued);
  return total;
}

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
    const written = await log.append(streams.vm(record.siteName, record.vmUuid), [
      usageEvent(
        record,
        {
          receivedAt: receivedAt.toISOString(),
          publisher: original.publisher,
          sourceMessageId,
          recordIndex,
          messageVersion: parsed.version!,
        },
        'parser',
      ),
    ]);
    result = { accepted: written.written, unchanged: 1 - written.written, rejected: 0, errors: [] };
  }
  if (result.rejected === 0) await resolve(log, sourceMessageId, recordIndex, 'resubmitted', options.by, receivedAt);
  return result;
}

/** Closes a quarantined record without re-submitting it (e.g. a test VM staff chose to drop). */
export async function dismissQuarantined(
  log: EventLog,
  sourceMessageId: string,
  recordIndex: number | null,
  by: string,
): Promise<void> {
  await findRejected(log, sourceMessageId, recordIndex);
  await resolve(log, sourceMessageId, recordIndex, 'dismissed', by, new Date());
}

async function resolve(
  log: EventLog,
  sourceMessageId: string,
  recordIndex: number | null,
  resolution: 'resubmitted' | 'dismissed',
  by: string,
  at: Date,
): Promise<void> {
  await log.append(streams.quarantine(sourceMessageId), [
    newEvent('QuarantineResolved', { sourceMessageId, recordIndex, resolution, resolvedAt: at.toISOString(), by }, [
      sourceMessageId,
      recordIndex,
      resolution,
    ]),
  ]);
}

/**
 * Quarantine in the event log: a message with rejected input is kept once,
 * as one MessageQuarantined on `quarantine-<sha256 of its text>`, and each
 * rejected record or line as a small event beside it that refers to the
 * message by that hash and carries a bounded excerpt of its own text. So a
 * large bad message costs its size once, in the log only (read models keep
 * the excerpts), and a listing of the quarantine stays small whatever was sent.
 * A record corrected and re-submitted (apel-service.ts) is closed here too.
 */
import { FedledgerError, UserError } from '../errors.ts';
import type { StreamEvent } from '../eventlog/append-by-stream.ts';
import type { EventLog } from '../eventlog/port.ts';
import {
  type CloudRecordRejectedV1,
  type EventData,
  excerpt,
  RECORD_EXCERPT_CHARS,
  streams,
} from '../events/catalogue.ts';
import { decode, encode, schemaVersionOf } from '../events/codec.ts';
import type { RejectedCloudRecord } from './apel-message.ts';

export interface QuarantineSource {
  sourceMessageId: string;
  input: EventData<'MessageQuarantined'>['input'];
  text: string;
  receivedAt: string;
  publisher: string;
}

/** The message's own event, to go before the events of its rejected records on the same stream. */
export function quarantinedMessage(source: QuarantineSource): StreamEvent {
  const { sourceMessageId } = source;
  return {
    stream: streams.quarantine(sourceMessageId),
    event: encode('MessageQuarantined', source, [sourceMessageId]),
  };
}

/** The events that quarantine a message's rejected APEL records: the message once, then one per record. */
export function quarantinedApelRecords(
  source: Omit<QuarantineSource, 'input'>,
  messageVersion: string | null,
  rejected: readonly RejectedCloudRecord[],
): StreamEvent[] {
  if (rejected.length === 0) return [];
  const { sourceMessageId, receivedAt, publisher } = source;
  return [
    quarantinedMessage({ ...source, input: 'apel-cloud' }),
    ...rejected.map((r) => ({
      stream: streams.quarantine(sourceMessageId),
      event: encode(
        'CloudRecordRejected',
        {
          sourceMessageId,
          recordIndex: r.index,
          line: r.line,
          lastLine: r.lastLine,
          recordExcerpt: excerpt(r.text, RECORD_EXCERPT_CHARS),
          recordLength: r.text.length,
          messageVersion,
          errors: r.errors,
          receivedAt,
          publisher,
          siteName: r.siteName,
        },
        [sourceMessageId, r.index],
      ),
    })),
  ];
}

/** A rejected record's full text from its message: its lines, blank ones dropped, CRs removed. */
export function recordTextOf(messageText: string, line: number, lastLine: number): string {
  return messageText
    .split('\n')
    .slice(line - 1, lastLine)
    .map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
    .filter((l) => l.trim() !== '')
    .join('\n');
}

export class QuarantineNotFoundError extends UserError {
  constructor(sourceMessageId: string, recordIndex: number | null | 'message') {
    super(
      'QUARANTINE_NOT_FOUND',
      `no quarantined ${recordIndex === null || recordIndex === 'message' ? 'message' : `record ${recordIndex}`} in message ${sourceMessageId}`,
      { message: sourceMessageId, ...(typeof recordIndex === 'number' ? { record: recordIndex } : {}) },
    );
  }
}

async function* quarantineStream(log: EventLog, sourceMessageId: string) {
  try {
    yield* log.readStream(streams.quarantine(sourceMessageId));
  } catch (error) {
    if (!(error instanceof FedledgerError && error.code === 'STREAM_NOT_FOUND')) throw error;
  }
}

/** A rejected record's event; throws QuarantineNotFoundError when the message has none at that index. */
export async function findRejected(
  log: EventLog,
  sourceMessageId: string,
  recordIndex: number | null,
): Promise<EventData<'CloudRecordRejected'>> {
  for await (const stored of quarantineStream(log, sourceMessageId)) {
    const event = decode(stored);
    if (event.type === 'CloudRecordRejected' && event.data.recordIndex === recordIndex) return event.data;
  }
  throw new QuarantineNotFoundError(sourceMessageId, recordIndex);
}

export interface QuarantinedMessageText {
  sourceMessageId: string;
  text: string;
  receivedAt: string;
  publisher: string;
}

/** A quarantined message's text, from its MessageQuarantined (or, in a store written before it, a rejected record). */
export async function quarantinedMessageText(log: EventLog, sourceMessageId: string): Promise<QuarantinedMessageText> {
  for await (const stored of quarantineStream(log, sourceMessageId)) {
    if (stored.type === 'MessageQuarantined') {
      const { text, receivedAt, publisher } = decode(stored).data as EventData<'MessageQuarantined'>;
      return { sourceMessageId, text, receivedAt, publisher };
    }
    if (stored.type === 'CloudRecordRejected' && schemaVersionOf(stored) === 1) {
      const { messageText, receivedAt, publisher } = stored.data as unknown as CloudRecordRejectedV1;
      return { sourceMessageId, text: messageText, receivedAt, publisher };
    }
  }
  throw new QuarantineNotFoundError(sourceMessageId, 'message');
}

/** Closes a quarantined record (or message, `recordIndex` null) whose correction was re-submitted. */
export async function resolveResubmitted(
  log: EventLog,
  sourceMessageId: string,
  recordIndex: number | null,
  by: string,
  at: Date,
): Promise<void> {
  const resolution = 'resubmitted';
  await log.append(streams.quarantine(sourceMessageId), [
    encode('QuarantineResolved', { sourceMessageId, recordIndex, resolution, resolvedAt: at.toISOString(), by }, [
      sourceMessageId,
      recordIndex,
      resolution,
    ]),
  ]);
}

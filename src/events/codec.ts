/**
 * How an event becomes what the event log stores, and back: the one place
 * that knows the stored form. A producer encodes a fact into an
 * `EncodedEvent` (a deterministic id, the type, the schema version its
 * payload follows and the payload as JSON text); the log's port takes only
 * that, and both stores keep the text as it is, with the schema version as
 * the event's metadata (`metadataJson`). A reader types a stored event with
 * `decode`, which also reads older schema versions as the current one.
 */
import type { JsonObject, RecordedEvent } from '../eventlog/port.ts';
import {
  type CloudUsageRecord,
  type DomainEvent,
  EVENT_VERSIONS,
  type EventData,
  type EventType,
  InvalidEventError,
  isKnownType,
  upcast,
  validated,
} from './catalogue.ts';
import { deterministicUuid, type IdOrder, uuidOfText } from './ids.ts';

export interface EncodedEvent {
  /** UUID. Deterministic for ingested facts, so a re-sent fact is a no-op. */
  readonly id: string;
  readonly type: string;
  /** The version of its type's schema that the payload follows. */
  readonly schemaVersion: number;
  /** The payload as JSON text. */
  readonly dataJson: string;
}

const epochMs = (iso: string) => Date.parse(iso);

/** Where a fact's id sorts, from its content only, where it has a time of its own (see `deterministicUuid`). */
const ID_ORDER: { [T in EventType]?: (data: EventData<T>) => IdOrder } = {
  CloudUsageRecorded: ({ record: r }) => ({
    timeMs:
      1000 *
      (r.recordCreateTime ?? (r.endTime || (r.startTime ?? 0) + (r.suspendDuration ?? 0) + (r.wallDuration ?? 0))),
  }),
  VmStateChanged: (d) => ({ timeMs: epochMs(d.at) }),
  ProbeResultRecorded: (d) => ({ timeMs: epochMs(d.timestamp), place: `${d.hostname}/${d.service}` }),
};

const idOrder = <T extends EventType>(type: T, data: EventData<T>) =>
  (ID_ORDER[type] as ((d: EventData<T>) => IdOrder) | undefined)?.(data);

/**
 * A fact as an event, its payload checked against its type's schema. `identity` is the natural key plus the
 * content that makes this fact distinct; the same identity always yields the same id.
 */
export function encode<T extends EventType>(type: T, data: EventData<T>, identity: unknown): EncodedEvent {
  return encodeParsed(type, validated(type, data), identity);
}

/**
 * The same for a payload that a boundary parser produced under rules at least as strict as the type's schema
 * (probe results), so it is not validated a second time: at millions of records the second check cost more
 * than the event's id.
 */
export function encodeParsed<T extends EventType>(type: T, data: EventData<T>, identity: unknown): EncodedEvent {
  return {
    id: deterministicUuid([type, identity], idOrder(type, data)),
    type,
    schemaVersion: EVENT_VERSIONS[type],
    dataJson: JSON.stringify(data),
  };
}

/** Where a message's usage records came from (a collector run counts as a message). */
export type UsageProvenance = Omit<EventData<'CloudUsageRecorded'>, 'record' | 'recordIndex'>;

/**
 * Encodes the usage records of one message. A record's id hashes its type and the record's JSON, keys in
 * catalogue order (the VMUUID plus the content, whatever message carried it), and the event's JSON embeds that
 * same text with the provenance around it, laid out in the schema's key order once per message, so the record is
 * stringified once. Records from the APEL parser (`from: 'parser'`) are in catalogue order and passed rules
 * stricter than the schema; others are validated, which also puts their keys in that order.
 */
export function usageEncoder(
  provenance: UsageProvenance,
  from: 'parser' | 'elsewhere' = 'elsewhere',
): (record: CloudUsageRecord, recordIndex: number) => EncodedEvent {
  const { receivedAt, publisher, sourceMessageId, messageVersion } = provenance;
  const beforeIndex = `,"receivedAt":${JSON.stringify(receivedAt)},"publisher":${JSON.stringify(publisher)},"sourceMessageId":${JSON.stringify(sourceMessageId)},"recordIndex":`;
  const afterIndex = `,"messageVersion":${JSON.stringify(messageVersion)}}`;
  const type = 'CloudUsageRecorded';
  const schemaVersion = EVENT_VERSIONS[type];
  return (given, recordIndex) => {
    const data = { record: given, receivedAt, publisher, sourceMessageId, recordIndex, messageVersion };
    const checked = from === 'parser' ? data : validated(type, data);
    const recordJson = JSON.stringify(checked.record);
    return {
      // The canonical JSON of [type, record] that `deterministicUuid` would hash, with the record's keys as given.
      id: uuidOfText(`["${type}",${recordJson}]`, idOrder(type, checked)),
      type,
      schemaVersion,
      dataJson: `{"record":${recordJson}${beforeIndex}${checked.recordIndex}${afterIndex}`,
    };
  };
}

const metadataTexts: string[] = [];

/** What both stores keep as an event's metadata: its schema version, as JSON. */
export function metadataJson(schemaVersion: number): string {
  return (metadataTexts[schemaVersion] ??= JSON.stringify({ schemaVersion }));
}

const metadataObjects = new Map<string, JsonObject>();
const NO_METADATA: JsonObject = Object.freeze({});

/**
 * Stored metadata as an object. The texts repeat (one per schema version), so each is parsed once and the frozen
 * object shared: projections read millions of events.
 */
export function metadataFromJson(text: string | null): JsonObject {
  if (text === null) return NO_METADATA;
  let parsed = metadataObjects.get(text);
  if (parsed === undefined) {
    // A bound on memory for a store whose metadata does vary (written by other tools).
    if (metadataObjects.size >= 1000) metadataObjects.clear();
    parsed = Object.freeze(JSON.parse(text) as JsonObject);
    metadataObjects.set(text, parsed);
  }
  return parsed;
}

/** The schema version of a stored event's payload; an event stored without one is version 1. */
export function schemaVersionOf(event: RecordedEvent): number {
  return Number(event.metadata['schemaVersion'] ?? 1);
}

/**
 * Types a stored event. Payloads were validated once, when they were encoded, so reading does not validate them
 * again (projections read millions); it checks the type and the schema version it can read.
 */
export function decode(event: RecordedEvent): DomainEvent {
  if (!isKnownType(event.type)) throw new InvalidEventError(event.type, 'unknown event type');
  const version = schemaVersionOf(event);
  if (version === EVENT_VERSIONS[event.type]) return { type: event.type, data: event.data } as DomainEvent;
  const data = upcast(event.type, version, event.data);
  if (data === undefined)
    throw new InvalidEventError(event.type, `schema version ${String(version)} is not readable by this build`);
  return { type: event.type, data } as DomainEvent;
}

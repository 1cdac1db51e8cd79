/**
 * The event catalogue: every fact fedledger stores, with its schema version,
 * its stream and one validator. How an event is written to the log and read
 * back (its id, its text) is codec.ts.
 */
import { z } from 'zod';
import { FedledgerError } from '../errors.ts';
import type { JsonObject } from '../eventlog/port.ts';

const isoInstant = z.string().datetime({ offset: false, precision: undefined });
const nullableString = z.string().nullable();
const nullableInt = z.number().int().nonnegative().nullable();
const nullableDecimal = z.number().nonnegative().nullable();

/** One APEL cloud usage record, normalised: epoch seconds, nulls explicit, VO split from FQAN. */
export const cloudUsageRecordSchema = z.object({
  vmUuid: z.string().min(1),
  siteName: z.string().min(1),
  machineName: nullableString,
  localUserId: nullableString,
  localGroupId: nullableString,
  globalUserName: nullableString,
  fqan: nullableString,
  vo: nullableString,
  voGroup: nullableString,
  voRole: nullableString,
  status: nullableString,
  startTime: nullableInt,
  endTime: nullableInt,
  suspendDuration: nullableInt,
  wallDuration: nullableInt,
  cpuDuration: nullableInt,
  cpuCount: nullableDecimal,
  networkType: nullableString,
  networkInbound: nullableInt,
  networkOutbound: nullableInt,
  publicIpCount: nullableInt,
  memory: nullableInt,
  disk: nullableInt,
  storageRecordId: nullableString,
  imageId: nullableString,
  cloudType: nullableString,
  cloudComputeService: nullableString,
  benchmarkType: nullableString,
  benchmark: nullableDecimal,
  recordCreateTime: nullableInt,
});
export type CloudUsageRecord = z.infer<typeof cloudUsageRecordSchema>;

const recordErrorSchema = z.object({
  message: z.string(),
  record: z.number().int().nullable(),
  line: z.number().int().nullable(),
  field: z.string().nullable(),
  reason: z.string(),
  code: z.string(),
});
export type RecordError = z.infer<typeof recordErrorSchema>;

const probeStatus = z.enum(['OK', 'WARNING', 'CRITICAL', 'UNKNOWN']);

const schemas = {
  /** A usage record was received (APEL message, push, or a collector). */
  CloudUsageRecorded: z.object({
    record: cloudUsageRecordSchema,
    receivedAt: isoInstant,
    /** Who sent it: a site token, a CLI file, a collector source. */
    publisher: z.string(),
    /** sha256 of the source message text. */
    sourceMessageId: z.string(),
    /** 1-based index of the record in its message. */
    recordIndex: z.number().int().positive(),
    messageVersion: z.string(),
  }),
  /**
   * A message that had rejected records (or was rejected whole), kept once, on its quarantine stream, for review and
   * re-submission: each rejected record refers to it by its sourceMessageId (the sha256 of this text).
   */
  MessageQuarantined: z.object({
    sourceMessageId: z.string(),
    input: z.enum(['apel-cloud', 'probe-result', 'gocdb']),
    text: z.string(),
    receivedAt: isoInstant,
    publisher: z.string(),
  }),
  /** A record failed validation (version 2: the message text is in its MessageQuarantined, not here). */
  CloudRecordRejected: z.object({
    sourceMessageId: z.string(),
    /** null: the message as a whole was rejected (its framing is bad). */
    recordIndex: z.number().int().nullable(),
    /** The record's first and last line in the message (null for a whole message, or unknown). */
    line: z.number().int().positive().nullable(),
    lastLine: z.number().int().positive().nullable(),
    /** The record's lines (the message's when rejected whole), cut to a bounded length (see src/ingest/quarantine.ts). */
    recordExcerpt: z.string(),
    /** Characters in the record's full text. */
    recordLength: z.number().int().nonnegative(),
    /** The message header's version, so a corrected record can be parsed as its message was. */
    messageVersion: nullableString,
    errors: z.array(recordErrorSchema).min(1),
    receivedAt: isoInstant,
    publisher: z.string(),
    siteName: nullableString,
  }),
  /** A message file (`ingest apel DIR`) was ingested into this store: a later run skips files with its content. */
  ApelFileIngested: z.object({
    /** The path as the ingest named it. */
    path: z.string().min(1),
    /** sha256 of the file's bytes. */
    contentHash: z.string().regex(/^[0-9a-f]{64}$/),
    ingestedAt: isoInstant,
  }),
  /** A quarantined record was corrected and re-submitted, or dismissed by staff. */
  QuarantineResolved: z.object({
    sourceMessageId: z.string(),
    recordIndex: z.number().int().nullable(),
    resolution: z.enum(['resubmitted', 'dismissed']),
    resolvedAt: isoInstant,
    by: z.string(),
  }),
  VmStateChanged: z.object({
    vmUuid: z.string().min(1),
    siteName: z.string().min(1),
    state: z.string(),
    previousState: nullableString,
    at: isoInstant,
    source: z.string(),
  }),
  ProbeResultRecorded: z.object({
    timestamp: isoInstant,
    hostname: z.string().min(1),
    service: z.string().min(1),
    metric: z.string().min(1),
    status: probeStatus,
    summary: z.string(),
    message: z.string(),
    monitoringHost: z.string(),
  }),
  DowntimeDeclared: z.object({
    downtimeId: z.string(),
    siteName: nullableString,
    classification: z.enum(['SCHEDULED', 'UNSCHEDULED']),
    severity: z.enum(['OUTAGE', 'WARNING']),
    start: isoInstant,
    end: isoInstant,
    declaredAt: isoInstant.nullable(),
    description: z.string(),
    endpoints: z.array(z.object({ hostname: z.string(), service: z.string() })),
  }),
  DowntimeCancelled: z.object({ downtimeId: z.string(), cancelledAt: isoInstant }),
  SiteRegistered: z.object({
    siteName: z.string().min(1),
    primaryKey: nullableString,
    country: nullableString,
    ngi: nullableString,
    certificationStatus: nullableString,
    productionInfrastructure: nullableString,
  }),
  ServiceEndpointRegistered: z.object({
    siteName: z.string().min(1),
    hostname: z.string().min(1),
    service: z.string().min(1),
    url: nullableString,
    primaryKey: nullableString,
    inProduction: z.boolean(),
    monitored: z.boolean(),
    scopes: z.array(z.string()),
    /** GOCDB's ROC_NAME and COUNTRY_NAME, when the endpoint document carries them. */
    ngi: nullableString.optional(),
    country: nullableString.optional(),
    /** GOCDB's HOSTDN: the host certificate's subject, which may sign SSM messages for this site. */
    hostDn: z.string().min(1).optional(),
  }),
  /** A non-APEL input (a probe-result line, a GOCDB element) failed validation; kept for review. */
  InputRejected: z.object({
    input: z.enum(['probe-result', 'gocdb']),
    sourceMessageId: z.string(),
    /** 1-based line (probe results) or element index (GOCDB) in the source. */
    line: z.number().int().positive().nullable(),
    text: z.string(),
    errors: z.array(recordErrorSchema).min(1),
    receivedAt: isoInstant,
    publisher: z.string(),
  }),
  ProfilePublished: z.object({
    kind: z.enum(['operations', 'aggregation', 'metric']),
    name: z.string().min(1),
    /** Effective from this UTC date (YYYY-MM-DD). */
    effectiveFrom: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    profile: z.record(z.string(), z.unknown()),
  }),
  /** A collector finished a scope (an OpenStack project, an OpenNebula endpoint) up to `cursor`; a restart resumes there. */
  CollectorCursorAdvanced: z.object({
    source: z.string().min(1),
    scope: z.string().min(1),
    cursor: isoInstant,
    advancedAt: isoInstant,
  }),
  /** What a collector saw of a site's cloud: endpoints, images, flavors, projects (feeds the GLUE 2 description). */
  CollectorSnapshotTaken: z.object({
    source: z.string().min(1),
    siteName: z.string().min(1),
    takenAt: isoInstant,
    middleware: z.enum(['openstack', 'opennebula']),
    endpoints: z.array(z.object({ url: z.string(), type: z.string(), interface: z.string(), region: nullableString })),
    images: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        osName: nullableString,
        osVersion: nullableString,
        architecture: nullableString,
        marketplaceUrl: nullableString,
        description: nullableString,
      }),
    ),
    flavors: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        vcpus: z.number().nonnegative(),
        ramMb: z.number().int().nonnegative(),
        diskGb: z.number().int().nonnegative(),
        isPublic: z.boolean(),
        benchmarkType: nullableString,
        benchmark: nullableDecimal,
      }),
    ),
    shares: z.array(
      z.object({
        projectId: z.string(),
        projectName: z.string(),
        vo: nullableString,
        runningVm: z.number().int().nonnegative(),
        totalVm: z.number().int().nonnegative(),
      }),
    ),
  }),
  /**
   * Summaries of a site's month were published to the accounting portal over AMS: a later send skips the month
   * while its summaries keep this content hash.
   */
  SummariesSent: z.object({
    siteName: z.string().min(1),
    /** YYYY-MM. */
    month: z.string().regex(/^\d{4}-\d{2}$/),
    /** sha256 of the month's summary records as sent. */
    contentHash: z.string().regex(/^[0-9a-f]{64}$/),
    records: z.number().int().nonnegative(),
    topic: z.string().min(1),
    /** The AMS ids of the messages that carried the records. */
    messageIds: z.array(z.string()),
    sentAt: isoInstant,
  }),
  /** A technical board report was written (by the schedule or on demand); the schedule checks these before running. */
  ReportGenerated: z.object({
    period: z.string().regex(/^\d{4}-(\d{2}|Q[1-4])$/),
    trigger: z.enum(['schedule', 'cli']),
    /** The cron instant a scheduled run was due at; null for on-demand runs. */
    scheduledFor: isoInstant.nullable(),
    /** Log position the figures were computed at (decimal; -1 for an empty log). */
    position: z.string().regex(/^-?\d+$/),
    directory: z.string(),
    files: z.array(z.object({ name: z.string(), bytes: z.number().int().nonnegative(), sha256: z.string() })),
    generatedAt: isoInstant,
  }),
} as const;

export type EventType = keyof typeof schemas;
export type EventData<T extends EventType> = z.infer<(typeof schemas)[T]>;
export type DomainEvent = { [T in EventType]: { type: T; data: EventData<T> } }[EventType];
export const EVENT_TYPES = Object.keys(schemas) as EventType[];

/** Schema version of each type; bump it (and add an upcast to `UPCASTS`) when a payload changes. */
export const EVENT_VERSIONS: Record<EventType, number> = {
  ...(Object.fromEntries(EVENT_TYPES.map((t) => [t, 1])) as Record<EventType, number>),
  CloudRecordRejected: 2,
};

/** Reads a stored payload of an older schema version as the current one, by type and stored version. */
const UPCASTS: { [T in EventType]?: Record<number, (data: JsonObject) => EventData<T>> } = {
  CloudRecordRejected: { 1: (data) => cloudRecordRejectedFromV1(data as unknown as CloudRecordRejectedV1) },
};

/** Version 1 kept the record's text and the whole message's text in every rejected record. */
export interface CloudRecordRejectedV1 {
  sourceMessageId: string;
  recordIndex: number | null;
  recordText: string;
  messageText: string;
  errors: RecordError[];
  receivedAt: string;
  publisher: string;
  siteName: string | null;
}

/** Characters of a rejected record's text its event keeps (an APEL record is well under 2,000). */
export const RECORD_EXCERPT_CHARS = 4096;

/** Text cut to `max` characters, with an ellipsis and the full length when cut. */
export function excerpt(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

function cloudRecordRejectedFromV1(v1: CloudRecordRejectedV1): EventData<'CloudRecordRejected'> {
  const version = /^\uFEFF?\s*APEL-cloud-message\s*:\s*(v0\.[124])\s*$/m.exec(v1.messageText.split('\n', 1)[0]!);
  return {
    sourceMessageId: v1.sourceMessageId,
    recordIndex: v1.recordIndex,
    line: v1.errors[0]?.line ?? null,
    lastLine: null,
    recordExcerpt: excerpt(v1.recordText, RECORD_EXCERPT_CHARS),
    recordLength: v1.recordText.length,
    messageVersion: version?.[1] ?? null,
    errors: v1.errors,
    receivedAt: v1.receivedAt,
    publisher: v1.publisher,
    siteName: v1.siteName,
  };
}

/** A site name as the first part of a VM's stream name: `%` and `/` escaped, so the site ends at the first `/`. */
const siteSegment = (siteName: string) =>
  /[%/]/.test(siteName) ? siteName.replaceAll('%', '%25').replaceAll('/', '%2F') : siteName;

/** Stream names: one stream per natural aggregate. */
export const streams = {
  /** A VM is its site's: VMUUIDs are chosen by each site's VM manager, so two sites' VMs may share one. */
  vm: (siteName: string, vmUuid: string) => `vm-${siteSegment(siteName)}/${vmUuid}`,
  quarantine: (sourceMessageId: string) => `quarantine-${sourceMessageId}`,
  probes: (hostname: string, service: string) => `probes-${hostname}/${service}`,
  downtime: (downtimeId: string) => `downtime-${downtimeId}`,
  site: (siteName: string) => `site-${siteName}`,
  profile: (kind: string, name: string) => `profile-${kind}-${name}`,
  collector: (source: string) => `collector-${source}`,
  report: (period: string) => `report-${period}`,
  summariesSent: (siteName: string) => `summaries-sent-${siteName}`,
  ingestedFiles: () => 'ingested-files',
} as const;

export class InvalidEventError extends FedledgerError {
  constructor(type: string, detail: string) {
    super('INVALID_EVENT', `invalid ${type} event: ${detail}`);
  }
}

/** The payload checked against its type's schema: a new object, with its keys in the schema's order. */
export function validated<T extends EventType>(type: T, data: unknown): EventData<T> {
  const result = schemas[type].safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InvalidEventError(type, `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return result.data as EventData<T>;
}

export function isKnownType(type: string): type is EventType {
  return Object.hasOwn(schemas, type);
}

/** A payload stored under an older schema version of its type, read as the current version; undefined if unreadable. */
export function upcast(type: EventType, storedVersion: number, data: JsonObject): DomainEvent['data'] | undefined {
  const from = (UPCASTS[type] as Record<number, (data: JsonObject) => DomainEvent['data']> | undefined)?.[
    storedVersion
  ];
  return from?.(data);
}

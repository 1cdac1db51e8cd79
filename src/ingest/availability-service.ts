/**
 * Ingest services for availability inputs, free of any HTTP or CLI
 * framework: the CLI and `POST /v1/probes` call these. They parse with the
 * pure parsers, append events with deterministic ids (a re-sent fact is a
 * no-op), and keep rejected input in quarantine as InputRejected events.
 */
import { createHash } from 'node:crypto';
import { appendByStream, type StreamEvent } from '../eventlog/append-by-stream.ts';
import type { EventLog } from '../eventlog/port.ts';
import { type EventData, type RecordError, streams } from '../events/catalogue.ts';
import { encode, encodeParsed } from '../events/codec.ts';
import { sha256Hex } from '../events/ids.ts';
import { FedledgerError } from '../errors.ts';
import { GocdbDocumentError, parseGocdb, type GocdbDocument, type GocdbKind } from './gocdb.ts';
import { parseProbeLine, probeIdentity } from './probes.ts';
import { parseProfiles } from './profiles.ts';
import { isoInstant } from '../instant.ts';
import type { Job } from '../jobs/scheduler.ts';

export interface IngestOptions {
  /** Who sent it: a token's subject, a CLI file, a scheduled pull. */
  publisher: string;
  /** Source name used in error messages (file name, `POST /v1/probes`). */
  source?: string;
  /** Reception time; defaults to now. */
  receivedAt?: Date;
}

export interface IngestSummary {
  accepted: number;
  unchanged: number;
  rejected: number;
  errors: RecordError[];
}

/** Events appended per group: the SQLite store commits appends made in the same tick in one transaction. */
const GROUP = 20_000;
/** At most this many errors are returned to the caller (all are kept in quarantine). */
const MAX_ERRORS = 1_000;

/** Ingests probe-result lines as they come (a file streamed line by line, or a request body split). */
export async function ingestProbeLines(
  log: EventLog,
  lines: AsyncIterable<string> | Iterable<string>,
  options: IngestOptions,
): Promise<IngestSummary> {
  const source = options.source ?? options.publisher;
  // Rejections carry the time reception began, not the time the last line was read.
  const received = { ...options, receivedAt: options.receivedAt ?? new Date() };
  const hash = createHash('sha256');
  const summary: IngestSummary = { accepted: 0, unchanged: 0, rejected: 0, errors: [] };
  const rejected: Array<{ line: number; text: string; errors: RecordError[] }> = [];
  let pending: StreamEvent[] = [];
  const flush = async () => {
    const written = await appendByStream(log, pending);
    summary.accepted += written;
    summary.unchanged += pending.length - written;
    pending = [];
  };
  let line = 0;
  for await (const text of lines) {
    line++;
    hash.update(text).update('\n');
    if (text.trim() === '') continue;
    const parsed = parseProbeLine(text, line, source);
    if (!parsed.ok) {
      rejected.push(parsed);
      continue;
    }
    const r = parsed.result;
    pending.push({
      stream: streams.probes(r.hostname, r.service),
      // The line parser's rules are stricter than the event's schema.
      event: encodeParsed('ProbeResultRecorded', r, probeIdentity(r)),
    });
    if (pending.length >= GROUP) await flush();
  }
  await flush();
  if (rejected.length) {
    await quarantine(log, 'probe-result', hash.digest('hex'), rejected, received);
    summary.rejected = rejected.length;
    summary.errors = rejected.flatMap((r) => r.errors).slice(0, MAX_ERRORS);
  }
  return summary;
}

/** Ingests a whole body of JSON lines. */
export function ingestProbeResults(log: EventLog, text: string, options: IngestOptions): Promise<IngestSummary> {
  return ingestProbeLines(log, text.split(/\r?\n/), options);
}

export interface GocdbSummary extends IngestSummary {
  /** Null when the document could not be read as a whole (it is then quarantined as one rejected input). */
  kind: GocdbKind | null;
}

/** Keeps rejected lines or elements of one source in its quarantine stream, one InputRejected event each. */
async function quarantine(
  log: EventLog,
  input: EventData<'InputRejected'>['input'],
  sourceMessageId: string,
  rejected: ReadonlyArray<{ line: number | null; text: string; errors: RecordError[] }>,
  options: IngestOptions,
): Promise<void> {
  const receivedAt = isoInstant(options.receivedAt ?? new Date());
  await log.append(
    streams.quarantine(sourceMessageId),
    rejected.map((r) =>
      encode(
        'InputRejected',
        {
          input,
          sourceMessageId,
          line: r.line,
          text: r.text,
          errors: r.errors,
          receivedAt,
          publisher: options.publisher,
        },
        [sourceMessageId, r.line],
      ),
    ),
  );
}

/**
 * Ingests one GOCDB document (site list, service endpoints or downtimes, recognised by content). A document that
 * cannot be read as a whole is quarantined whole and counted as one rejected input.
 */
export async function ingestGocdb(log: EventLog, xml: string, options: IngestOptions): Promise<GocdbSummary> {
  const source = options.source ?? options.publisher;
  let doc: GocdbDocument;
  try {
    doc = parseGocdb(xml, source);
  } catch (e) {
    if (!(e instanceof GocdbDocumentError)) throw e;
    await quarantine(log, 'gocdb', sha256Hex(xml), [{ line: null, text: xml, errors: [e.recordError] }], options);
    return { kind: null, accepted: 0, unchanged: 0, rejected: 1, errors: [e.recordError] };
  }
  const items: StreamEvent[] = [
    ...doc.sites.map((s) => ({ stream: streams.site(s.siteName), event: encode('SiteRegistered', s, s) })),
    ...doc.endpoints.map((e) => ({
      stream: streams.site(e.siteName),
      event: encode('ServiceEndpointRegistered', e, e),
    })),
    // Identity is the content: an unchanged re-send is a no-op, a changed one supersedes.
    ...doc.downtimes.map((d) => ({
      stream: streams.downtime(d.downtimeId),
      event: encode('DowntimeDeclared', d, d),
    })),
  ];
  const written = await appendByStream(log, items);
  const summary: GocdbSummary = {
    kind: doc.kind,
    accepted: written,
    unchanged: items.length - written,
    rejected: doc.rejected.length,
    errors: [],
  };
  if (doc.rejected.length) {
    await quarantine(
      log,
      'gocdb',
      sha256Hex(xml),
      doc.rejected.map((r) => ({ line: r.index, text: r.text, errors: r.errors })),
      options,
    );
    summary.errors = doc.rejected.flatMap((r) => r.errors).slice(0, MAX_ERRORS);
  }
  return summary;
}

/** Ingests operations, aggregation or metric profiles; each takes effect from its `date`. */
export async function ingestProfiles(log: EventLog, text: string, options: IngestOptions): Promise<IngestSummary> {
  const parsed = parseProfiles(text, options.source ?? options.publisher);
  const items = parsed.map((p) => {
    const data = { kind: p.kind, name: p.profile.name, effectiveFrom: p.profile.date, profile: p.raw };
    return { stream: streams.profile(p.kind, p.profile.name), event: encode('ProfilePublished', data, data) };
  });
  const written = await appendByStream(log, items);
  return { accepted: written, unchanged: items.length - written, rejected: 0, errors: [] };
}

export const GOCDB_METHODS = ['get_site_list', 'get_service_endpoint', 'get_downtime'] as const;

export class GocdbPullError extends FedledgerError {}

/**
 * Pulls topology and downtimes from a GOCDB programmatic interface
 * (e.g. https://goc.egi.eu/gocdbpi/public/). Downtimes are asked for from
 * `downtimesSince` (default: 7 days before now), so late declarations are seen.
 */
export async function pullGocdb(
  log: EventLog,
  baseUrl: string,
  fetchImpl: typeof fetch = fetch,
  options: { now?: Date; downtimesSince?: Date } = {},
): Promise<Record<(typeof GOCDB_METHODS)[number], GocdbSummary>> {
  const now = options.now ?? new Date();
  const since = options.downtimesSince ?? new Date(now.getTime() - 7 * 86_400_000);
  const out = {} as Record<(typeof GOCDB_METHODS)[number], GocdbSummary>;
  for (const method of GOCDB_METHODS) {
    const url = new URL(baseUrl);
    url.searchParams.set('method', method);
    if (method === 'get_downtime') url.searchParams.set('windowstart', since.toISOString().slice(0, 10));
    const response = await fetchImpl(url);
    if (!response.ok)
      throw new GocdbPullError('GOCDB_PULL_FAILED', `GOCDB ${method} answered HTTP ${response.status}`, {
        message: url.href,
      });
    out[method] = await ingestGocdb(log, await response.text(), {
      publisher: `gocdb:${url.origin}`,
      source: url.href,
      receivedAt: now,
    });
  }
  return out;
}

/** The hourly GOCDB pull as a job for `fedledger serve`'s scheduler (src/jobs/scheduler.ts). */
export function gocdbPullJob(
  log: EventLog,
  config: { gocdbUrl: string; cron?: string; fetchImpl?: typeof fetch },
): Job<Awaited<ReturnType<typeof pullGocdb>>> {
  return {
    name: 'gocdb-pull',
    cron: config.cron ?? '17 * * * *',
    run: () => pullGocdb(log, config.gocdbUrl, config.fetchImpl),
  };
}

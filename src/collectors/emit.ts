/**
 * How collector output enters the log: usage records exactly as the APEL
 * ingest stores them (stream per site's VM, identity = the canonical record, so a
 * collected record and the same record arriving in an APEL message are one
 * fact), plus state changes, probe results, cursors and snapshots. Every id is
 * derived from content, so collecting the same data twice appends nothing.
 */
import type { StreamEvent } from '../eventlog/append-by-stream.ts';
import type { EventLog } from '../eventlog/port.ts';
import { streams, type CloudUsageRecord, type EventData } from '../events/catalogue.ts';
import { encode, usageEncoder } from '../events/codec.ts';
import { canonicalJson, sha256Hex } from '../events/ids.ts';
import { probeIdentity } from '../ingest/probes.ts';

export type Emitted = StreamEvent;

/** One run's usage records as CloudUsageRecorded events; the run is their "message". */
export function usageEvents(records: readonly CloudUsageRecord[], publisher: string, receivedAt: string): Emitted[] {
  const encodeUsage = usageEncoder({
    receivedAt,
    publisher,
    sourceMessageId: sha256Hex(canonicalJson(records)),
    messageVersion: 'collector',
  });
  return records.map((record, i) => ({
    stream: streams.vm(record.siteName, record.vmUuid),
    event: encodeUsage(record, i + 1),
  }));
}

export function stateEvent(data: EventData<'VmStateChanged'>, requestId: string): Emitted {
  return {
    stream: streams.vm(data.siteName, data.vmUuid),
    event: encode('VmStateChanged', data, [data.vmUuid, data.source, requestId]),
  };
}

export function probeEvent(data: EventData<'ProbeResultRecorded'>): Emitted {
  return {
    stream: streams.probes(data.hostname, data.service),
    event: encode('ProbeResultRecorded', data, probeIdentity(data)),
  };
}

/** The collector registers the endpoint it checks, so its probe results count towards the site. */
export function endpointEvent(data: EventData<'ServiceEndpointRegistered'>): Emitted {
  return { stream: streams.site(data.siteName), event: encode('ServiceEndpointRegistered', data, data) };
}

export function cursorEvent(data: EventData<'CollectorCursorAdvanced'>): Emitted {
  return {
    stream: streams.collector(data.source),
    event: encode('CollectorCursorAdvanced', data, [data.source, data.scope, data.cursor]),
  };
}

/** A snapshot's identity is what was seen, not when: an unchanged cloud adds nothing. */
export function snapshotEvent(data: EventData<'CollectorSnapshotTaken'>): Emitted {
  const { takenAt: _takenAt, ...seen } = data;
  return { stream: streams.collector(data.source), event: encode('CollectorSnapshotTaken', data, seen) };
}

/** The latest cursor per scope, from the source's stream (how a restart resumes). */
export async function readCursors(log: EventLog, source: string): Promise<Map<string, string>> {
  const cursors = new Map<string, string>();
  try {
    for await (const e of log.readStream(streams.collector(source))) {
      if (e.type !== 'CollectorCursorAdvanced') continue;
      const { scope, cursor } = e.data as EventData<'CollectorCursorAdvanced'>;
      const known = cursors.get(scope);
      if (known === undefined || cursor > known) cursors.set(scope, cursor);
    }
  } catch (error) {
    if ((error as { code?: string }).code !== 'STREAM_NOT_FOUND') throw error;
  }
  return cursors;
}

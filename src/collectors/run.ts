/**
 * One collection run of one source: resume from the cursors in the log,
 * collect, and append what was seen (usage records, state changes, the VM
 * manager's reachability as a probe result, the snapshot, new cursors).
 */
import { appendByStream } from '../eventlog/append-by-stream.ts';
import type { EventLog } from '../eventlog/port.ts';
import type { CollectorSource } from './config.ts';
import { COLLECTOR_METRIC, COLLECTOR_SERVICE } from '../availability/service-types.ts';
import {
  cursorEvent,
  endpointEvent,
  probeEvent,
  readCursors,
  snapshotEvent,
  stateEvent,
  usageEvents,
  type Emitted,
} from './emit.ts';
import type { HttpPolicy } from './http.ts';
import { OpenNebulaCollector } from './opennebula/collector.ts';
import { OpenStackCollector } from './openstack/collector.ts';
import { resolveSecret } from './secrets.ts';
import type { CollectContext, CollectionResult, ScopeFailure } from './types.ts';
import { isoInstant } from '../instant.ts';

export interface RunOptions {
  now?: () => Date;
  env?: NodeJS.ProcessEnv;
  sleep?: HttpPolicy['sleep'];
  progress?: CollectContext['progress'];
  /** Recorded as the probe's monitoring host. */
  monitoringHost?: string;
}

export interface RunSummary {
  source: string;
  records: number;
  stateChanges: number;
  /** Events that were new to the log (0 when the same data was collected before). */
  written: number;
  failures: ScopeFailure[];
  reachability: CollectionResult['reachability'];
}

/** The endpoint the probe result is about: the VM manager's API host, under the collector's own service type. */
export function probeTarget(source: CollectorSource): { hostname: string; service: string; url: string } {
  const url = source.kind === 'openstack' ? source.keystoneUrl : source.rpcUrl;
  return { hostname: new URL(url).hostname, service: COLLECTOR_SERVICE, url };
}

export async function runCollection(
  log: EventLog,
  source: CollectorSource,
  options: RunOptions = {},
): Promise<RunSummary> {
  const now = options.now ?? (() => new Date());
  const env = options.env ?? process.env;
  const ctx: CollectContext = {
    now,
    policy: {
      timeoutMs: source.timeoutMs,
      retries: source.retries,
      backoffMs: source.backoffMs,
      ...(options.sleep ? { sleep: options.sleep } : {}),
    },
    ...(options.progress ? { progress: options.progress } : {}),
  };
  const startedAt = now();
  const cursors = await readCursors(log, source.name);
  const collector =
    source.kind === 'openstack'
      ? new OpenStackCollector(
          source,
          resolveSecret(
            source.auth.method === 'password' ? source.auth.password : source.auth.secret,
            `${source.name}.auth`,
            env,
          ),
          ctx,
        )
      : new OpenNebulaCollector(source, resolveSecret(source.password, `${source.name}.password`, env), ctx);
  const result = await collector.collect(cursors);

  const at = isoInstant(startedAt);
  const publisher = `collector:${source.name}`;
  const { hostname, service, url } = probeTarget(source);
  const emitted: Emitted[] = [
    endpointEvent({
      siteName: source.site,
      hostname,
      service,
      url,
      primaryKey: null,
      inProduction: true,
      monitored: true,
      scopes: [],
    }),
    ...usageEvents(result.records, publisher, at),
    ...result.stateChanges.map((c) => stateEvent(c.data, c.requestId)),
    probeEvent({
      timestamp: at,
      hostname,
      service,
      metric: COLLECTOR_METRIC,
      status: result.reachability.status,
      summary: `${result.reachability.status} - ${result.reachability.detail}`,
      message: result.reachability.responseMs === null ? '' : `response_time=${result.reachability.responseMs}ms`,
      monitoringHost: options.monitoringHost ?? publisher,
    }),
    ...(result.snapshot
      ? [snapshotEvent({ ...result.snapshot, source: source.name, siteName: source.site, takenAt: at })]
      : []),
  ];
  // Cursors last: they only move once the data they cover is in the log.
  const written =
    (await appendByStream(log, emitted)) +
    (await appendByStream(
      log,
      [...result.cursors].map(([scope, cursor]) => cursorEvent({ source: source.name, scope, cursor, advancedAt: at })),
    ));
  return {
    source: source.name,
    records: result.records.length,
    stateChanges: result.stateChanges.length,
    written,
    failures: result.failures,
    reachability: result.reachability,
  };
}

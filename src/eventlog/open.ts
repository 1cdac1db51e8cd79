/**
 * Picks the event store from configuration: EventStoreDB when a connection
 * string is given (EVENTSTORE_URL), else the embedded SQLite file in the data
 * directory. The only place that knows the adapters exist.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { EventLog } from './port.ts';
import { SqliteEventLog } from './sqlite.ts';

export interface EventLogConfig {
  dataDir: string;
  eventstoreUrl?: string | undefined;
}

export const EVENTLOG_FILE = 'events.sqlite';

export async function openEventLog(config: EventLogConfig): Promise<EventLog> {
  if (config.eventstoreUrl) {
    const { EsdbEventLog } = await import('./esdb.ts');
    return EsdbEventLog.connect(config.eventstoreUrl);
  }
  mkdirSync(config.dataDir, { recursive: true });
  return new SqliteEventLog(path.join(config.dataDir, EVENTLOG_FILE));
}

/**
 * Picks the event store from configuration: EventStoreDB when a connection
 * string is given (EVENTSTORE_URL), else the embedded SQLite file in the data
 * directory. The only place that knows the adapters exist.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { EventLog } from './port.ts';
import { SqliteEventLog } from './sqlite.ts';
import { storageError } from '../storage-errors.ts';
import { EVENTLOG_FILE, EVENTLOG_REMEDY } from './files.ts';

export interface EventLogConfig {
  dataDir: string;
  eventstoreUrl?: string | undefined;
}

export { EVENTLOG_FILE, EVENTLOG_REMEDY };

export async function openEventLog(config: EventLogConfig): Promise<EventLog> {
  if (config.eventstoreUrl) {
    const { EsdbEventLog } = await import('./esdb.ts');
    return EsdbEventLog.connect(config.eventstoreUrl);
  }
  mkdirSync(config.dataDir, { recursive: true });
  const file = path.join(config.dataDir, EVENTLOG_FILE);
  try {
    const log = new SqliteEventLog(file);
    // Reading the last event touches the file's header, schema and tail: damage there shows now, not mid-command.
    for await (const _ of log.readAll({ fromPosition: await log.headPosition() })) break;
    return log;
  } catch (error) {
    throw storageError(error, file, EVENTLOG_REMEDY) ?? error;
  }
}

/**
 * The event stores the conformance suite runs against. Each target opens a
 * fresh log; a target that cannot run here says why and its tests show as
 * skipped.
 */
import path from 'node:path';
import { EsdbEventLog } from '../../src/eventlog/esdb.ts';
import type { EventLog } from '../../src/eventlog/port.ts';
import { SqliteEventLog } from '../../src/eventlog/sqlite.ts';
import { startStandIn } from '../support/esdb-standin/index.ts';
import { tempDir } from '../support/tmp.ts';

export interface OpenedLog {
  log: EventLog;
  cleanup: () => Promise<void>;
}

export interface Target {
  name: string;
  /** Set when the target cannot run on this machine: the reason. */
  skip?: string;
  open: () => Promise<OpenedLog>;
}

const sqlite: Target = {
  name: 'sqlite',
  async open() {
    const tmp = tempDir();
    const log = new SqliteEventLog(path.join(tmp.dir, 'events.sqlite'));
    return {
      log,
      cleanup: async () => {
        await log.close();
        tmp.cleanup();
      },
    };
  },
};

/** The real adapter and client against an in-memory gRPC EventStoreDB, one per test. */
const esdbStandIn: Target = {
  name: 'eventstoredb (gRPC stand-in)',
  async open() {
    const server = await startStandIn();
    const log = await EsdbEventLog.connect(server.url);
    return {
      log,
      cleanup: async () => {
        await log.close();
        await server.stop();
      },
    };
  },
};

/** A real server (EVENTSTORE_URL, e.g. esdb://localhost:2113?tls=false), shared: tests use their own stream names. */
const esdbServer: Target = {
  name: 'eventstoredb (real server)',
  ...(process.env['EVENTSTORE_URL'] ? {} : { skip: 'EVENTSTORE_URL is not set' }),
  async open() {
    const log = await EsdbEventLog.connect(process.env['EVENTSTORE_URL']!);
    return { log, cleanup: () => log.close() };
  },
};

export const targets: Target[] = [sqlite, esdbStandIn, esdbServer];

/**
 * The event stores the conformance suite runs against. Each target opens a
 * fresh log; a target that cannot run here says why and its tests show as
 * skipped.
 */
import path from 'node:path';
import type { EventLog } from '../../src/eventlog/port.ts';
import { SqliteEventLog } from '../../src/eventlog/sqlite.ts';
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

export const targets: Target[] = [sqlite];

/**
 * A throwaway event log plus accounting read model for tests, and a small
 * builder for APEL record text.
 */
import path from 'node:path';
import { SqliteEventLog } from '../../src/eventlog/sqlite.ts';
import { ingestApelMessage, type IngestOptions, type IngestResult } from '../../src/ingest/apel-service.ts';
import { ProjectionRunner } from '../../src/projection/runner.ts';
import { accountingProjection } from '../../projections/accounting/apply.ts';
import { tempDir } from '../support/tmp.ts';

export interface Ledger {
  log: SqliteEventLog;
  runner: ProjectionRunner;
  /** Ingests one message received at `receivedAt` (ISO), then catches the read model up. */
  ingest(text: string, receivedAt: string, options?: Partial<IngestOptions>): Promise<IngestResult>;
  close(): Promise<void>;
}

export async function ledger(): Promise<Ledger> {
  const { dir, cleanup } = tempDir('fedledger-acc-');
  const log = new SqliteEventLog(path.join(dir, 'events.sqlite'));
  const runner = new ProjectionRunner(log, accountingProjection, path.join(dir, 'projections'));
  return {
    log,
    runner,
    async ingest(text, receivedAt, options = {}) {
      const result = await ingestApelMessage(log, text, {
        publisher: 'test',
        receivedAt: new Date(receivedAt),
        ...options,
      });
      await runner.catchUp();
      return result;
    },
    async close() {
      await runner.close();
      await log.close();
      cleanup();
    },
  };
}

export const epoch = (iso: string) => Date.parse(iso) / 1000;

/** One record's lines; `fields` override or add keys (null drops a key). */
export function record(fields: Record<string, string | number | null>): string {
  const base: Record<string, string | number | null> = {
    VMUUID: 'vm-1',
    SiteName: 'SITE-A',
    CloudComputeService: 'cloud.site-a.example',
    CloudType: 'caso/5.2.2 (OpenStack)',
    FQAN: 'vo.example.org',
    Status: 'started',
    CpuCount: 2,
    Memory: 4096,
    Disk: 40,
  };
  return Object.entries({ ...base, ...fields })
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
}

export const message = (version: 'v0.1' | 'v0.2' | 'v0.4', ...records: string[]) =>
  `APEL-cloud-message: ${version}\n${records.join('\n%%\n')}\n%%\n`;

/**
 * Runtime configuration from flags and environment, validated once at start.
 */
import path from 'node:path';

export interface Config {
  dataDir: string;
  eventstoreUrl: string | undefined;
}

export function loadConfig(flags: { dataDir?: string | undefined }, env: NodeJS.ProcessEnv = process.env): Config {
  return {
    dataDir: path.resolve(flags.dataDir ?? env['FEDLEDGER_DATA_DIR'] ?? 'data'),
    eventstoreUrl: env['EVENTSTORE_URL'] || undefined,
  };
}

import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadServeConfig } from '../../api/config.ts';
import { startService } from '../../api/service.ts';
import { loadDemo } from '../../demo/load.ts';
import { UserError } from '../../errors.ts';
import { openEventLog, EVENTLOG_FILE } from '../../eventlog/open.ts';
import type { RegisterCommand } from './index.ts';

export const registerDemo: RegisterCommand = (program, app) => {
  program
    .command('demo')
    .description('load the demo federation (fixtures/demo) into a fresh embedded store and serve it')
    .option('--port <n>', 'port to listen on (env PORT; default 4000)')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .action(async (options: { port?: string; host: string }) => {
      const { dataDir: given } = program.opts<{ dataDir?: string }>();
      const dataDir = given ?? mkdtempSync(path.join(os.tmpdir(), 'fedledger-demo-'));
      if (existsSync(path.join(dataDir, EVENTLOG_FILE)))
        throw new UserError(
          'DEMO_NOT_FRESH',
          `${dataDir} already holds an event log; the demo needs a fresh data directory`,
          { field: 'data-dir' },
        );
      const config = {
        ...loadServeConfig({ ...options, dataDir }, { ...process.env, EVENTSTORE_URL: '' }),
        logLevel: 'warn' as const,
      };
      const out = app().stdout;
      const started = Date.now();
      const log = await openEventLog(config);
      const loaded = await loadDemo(log);
      await log.close();
      out.write(
        `demo federation loaded into ${dataDir}: ${loaded.records} usage records (${loaded.rejected} quarantined), ${loaded.probeResults} probe results, ${loaded.topology} topology/downtime facts\n`,
      );
      const service = await startService(config);
      const { token } = service.tokens.create('staff', null, 'demo');
      await service.caughtUp;
      out.write(
        `read models ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n\nGraphiQL:    ${service.url}/graphql\nstaff token: ${token}\n\n`,
      );
      out.write(
        `In GraphiQL, set the header {"Authorization": "Bearer ${token}"} and try:\n  { accountingSummary(groupBy: [site]) { rows { key { site } figures { vms wallHours coreHours } } } }\n\nCtrl-C stops the server.\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await service.close();
    });
};

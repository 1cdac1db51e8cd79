import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../errors.ts';
import { EVENTLOG_FILE } from '../../eventlog/files.ts';
import { createDataDir } from '../data-dir.ts';
import { ensurePortFree } from '../port.ts';
import type { RegisterCommand } from './index.ts';

/** Exit status of a process ended by a signal, as shells report it. */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

export const registerDemo: RegisterCommand = (program, app) => {
  program
    .command('demo')
    .description(
      'load a demo federation, six months up to now, into a fresh embedded store and serve it; a temporary data directory (no --data-dir) is removed when the demo stops',
    )
    .option('--port <n>', 'port to listen on (env PORT; default 4000)')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .action(async (options: { port?: string; host: string }) => {
      // A directory named by --data-dir or FEDLEDGER_DATA_DIR is the user's; only one fedledger made is removed.
      const given = program.opts<{ dataDir?: string }>().dataDir ?? (process.env['FEDLEDGER_DATA_DIR'] || undefined);
      // Loaded here, not with the command list: the server's modules (GraphQL, express) are most of a start's time.
      const [{ loadServeConfig }, { startService }, { loadDemo }, { openEventLog }] = await Promise.all([
        import('../../api/config.ts'),
        import('../../api/service.ts'),
        import('../../demo/load.ts'),
        import('../../eventlog/open.ts'),
      ]);
      // Settings as for `serve`, but always the embedded store, in the data directory chosen below.
      const settings = loadServeConfig({ ...options, dataDir: given }, { ...process.env, EVENTSTORE_URL: '' });
      await ensurePortFree(settings.port, settings.host);
      if (given !== undefined && existsSync(path.join(given, EVENTLOG_FILE)))
        throw new UserError(
          'DEMO_NOT_FRESH',
          `${given} already holds an event log; the demo needs a fresh data directory`,
          { field: 'data-dir' },
        );
      const out = app().stdout;
      if (given !== undefined) createDataDir(path.resolve(given), app().stderr);
      // A directory fedledger made itself goes when the demo stops, however it stops. The handlers are in place
      // before the directory exists, so no signal can end the process between the two.
      let own: string | undefined;
      const removeOwn = () => {
        if (own !== undefined) rmSync(own, { recursive: true, force: true });
      };
      let serving = false;
      const stopped = new Promise<void>((resolve) => {
        for (const signal of ['SIGINT', 'SIGTERM'] as const)
          process.once(signal, () => {
            if (serving) return resolve();
            // Still loading: nothing worth keeping is written yet, and loading cannot be interrupted midway.
            removeOwn();
            process.exit(SIGNAL_EXIT[signal]);
          });
      });
      if (given === undefined) own = mkdtempSync(path.join(os.tmpdir(), 'fedledger-demo-'));
      const dataDir = given ?? own!;
      try {
        const config = { ...settings, dataDir, logLevel: 'warn' as const };
        const started = Date.now();
        const log = await openEventLog(config);
        const loaded = await loadDemo(log);
        await log.close();
        out.write(
          `demo federation loaded into ${dataDir}: ${loaded.records} usage records (${loaded.rejected} quarantined), ${loaded.probeResults} probe results, ${loaded.topology} topology/downtime facts\n`,
        );
        const service = await startService(config);
        serving = true;
        try {
          const { token } = service.tokens.create('staff', null, 'demo');
          await service.caughtUp;
          out.write(
            `read models ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n\nGraphiQL:    ${service.url}/graphql\nstaff token: ${token}\n\n`,
          );
          out.write(
            `In GraphiQL, set the header {"Authorization": "Bearer ${token}"} and try:\n  { accountingSummary(groupBy: [site]) { rows { key { site } figures { vmMonths wallHours coreHours } } } }\n\n${given === undefined ? 'Ctrl-C stops the server and removes its data directory.' : 'Ctrl-C stops the server.'}\n`,
          );
          await stopped;
        } finally {
          await service.close();
        }
      } finally {
        removeOwn();
      }
    });
};

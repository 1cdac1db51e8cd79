import { createDataDir } from '../data-dir.ts';
import { ensurePortFree } from '../port.ts';
import type { RegisterCommand } from './index.ts';

export const registerServe: RegisterCommand = (program, app) => {
  program
    .command('serve')
    .description('run the GraphQL API, health/readiness/metrics endpoints and the push endpoints')
    .option('--port <n>', 'port to listen on (env PORT; default 4000)')
    .option('--host <address>', 'address to listen on (env HOST; default 0.0.0.0)')
    .option('--config <file>', 'JSON or YAML settings file (env FEDLEDGER_CONFIG)')
    .action(async (options: { port?: string; host?: string; config?: string }) => {
      const { dataDir } = program.opts<{ dataDir?: string }>();
      // Loaded here, not with the command list: the server's modules (GraphQL, express) are most of a start's time.
      const [{ loadServeConfig }, { startService }] = await Promise.all([
        import('../../api/config.ts'),
        import('../../api/service.ts'),
      ]);
      const config = loadServeConfig({ ...options, dataDir });
      await ensurePortFree(config.port, config.host);
      createDataDir(config.dataDir, app().stderr);
      const service = await startService(config);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await service.close();
    });
};

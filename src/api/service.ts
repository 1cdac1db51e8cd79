/**
 * The running service, as `serve` and `demo` start it: the event log, a
 * runner per projection, tokens, the HTTP server and the job scheduler. It
 * listens at once and catches projections up in the background (/readyz
 * says when they are within the configured lag), then follows the log live.
 * `close()` is the graceful shutdown: stop accepting, finish in-flight
 * requests, flush the projections' last batches and checkpoints.
 */
import pino, { type Logger } from 'pino';
import { openEventLog } from '../eventlog/open.ts';
import type { EventLog } from '../eventlog/port.ts';
import { gocdbPullJob } from '../ingest/availability-service.ts';
import { openRunner, projections } from '../projection/registry.ts';
import type { ProjectionRunner } from '../projection/runner.ts';
import { loadCollectorConfig } from '../collectors/config.ts';
import { collectorJob } from '../collectors/job.ts';
import { JobScheduler } from '../jobs/scheduler.ts';
import { amsJobs } from '../integrations/ams/run.ts';
import { defaultReportDir, generateReport, READ_MODELS } from '../reports/generate.ts';
import { reportJobs } from '../reports/jobs.ts';
import type { ServeConfig } from './config.ts';
import { ApiServer } from './server.ts';
import { TokenStore } from './tokens.ts';

export interface RunningService {
  url: string;
  server: ApiServer;
  log: EventLog;
  tokens: TokenStore;
  runners: Map<string, ProjectionRunner>;
  /** Resolves when every projection has caught up and gone live. */
  caughtUp: Promise<void>;
  close(): Promise<void>;
}

export async function startService(
  config: ServeConfig,
  options: { logger?: Logger; now?: () => Date } = {},
): Promise<RunningService> {
  // Asynchronous writes (a synchronous write per request line halves throughput) that start at once: lines logged
  // while one write is under way go out together in the next, so a log reader sees each request as it ends.
  const destination = options.logger ? undefined : pino.destination({ dest: 1, sync: false });
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'fedledger' } }, destination!);
  const log = await openEventLog(config);
  const tokens = new TokenStore(config.dataDir);
  const runners = new Map(
    projections.map((p) => [
      p.name,
      openRunner(log, p, config.dataDir, (message) => logger.warn({ projection: p.name }, message)),
    ]),
  );
  for (const [name, runner] of runners)
    runner.on('error', (err) => logger.error({ err, projection: name }, 'projection failed'));
  const server = new ApiServer({ config, log, runners, tokens, logger, ...(options.now ? { now: options.now } : {}) });
  const url = await server.listen();
  logger.info({ url, eventLog: log.kind }, 'listening');
  let closing = false;
  const caughtUp = (async () => {
    for (const [name, runner] of runners) {
      if (closing) return;
      const started = Date.now();
      try {
        const applied = await runner.catchUp();
        logger.info(
          { projection: name, applied, ms: Date.now() - started, checkpoint: String(runner.checkpoint) },
          'projection caught up',
        );
      } catch (err) {
        // Following the log live retries it with backoff; /readyz reports the failure meanwhile.
        logger.error({ err, projection: name }, 'projection catch-up failed');
      }
      if (!closing) runner.start();
    }
  })();
  caughtUp.catch((err: unknown) => logger.error({ err }, 'catch-up failed'));
  const scheduler = new JobScheduler({ logger, registry: server.metrics.registry });
  if (config.gocdbUrl) scheduler.add(gocdbPullJob(log, { gocdbUrl: config.gocdbUrl, cron: config.gocdbCron }));
  if (config.collectors)
    for (const source of loadCollectorConfig(config.collectors).sources) scheduler.add(collectorJob(source, log));
  for (const job of amsJobs(config.ams, log, async () => {
    const accounting = runners.get('accounting')!;
    await accounting.catchUp();
    return accounting.db;
  }))
    scheduler.add(job);
  void scheduler.start();
  // Reports read the projections, so their jobs join the schedule once the projections have caught up.
  if (config.reportSchedule)
    void caughtUp.then(() => {
      if (closing) return;
      for (const job of reportJobs({
        log,
        run: async (period, due) => {
          const run = await generateReport({
            log,
            readModels: async () => {
              for (const name of READ_MODELS) await runners.get(name)!.catchUp();
              return runners;
            },
            period,
            dir: defaultReportDir(config.dataDir, period),
            now: new Date(),
            trigger: 'schedule',
            scheduledFor: due,
          });
          return { files: run.files.length, position: run.position };
        },
      }))
        scheduler.add(job);
    });
  return {
    url,
    server,
    log,
    tokens,
    runners,
    caughtUp,
    async close() {
      closing = true;
      scheduler.stop();
      await scheduler.idle();
      await server.close();
      await caughtUp.catch(() => {});
      for (const runner of runners.values()) await runner.close();
      tokens.close();
      await log.close();
      logger.info('stopped');
      destination?.flushSync();
    },
  };
}

/**
 * The running service, as `serve` and `demo` start it: the event log, a
 * runner per projection, tokens, the HTTP server and the schedule. It
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
import { startJobs } from '../schedule.ts';
import { amsJobs } from '../integrations/ams/run.ts';
import { loadCollectorConfig } from '../collectors/config.ts';
import { collectorJobs, startCollectorJobs } from '../collectors/schedule.ts';
import { defaultReportDir, generateReport, READ_MODELS } from '../reports/generate.ts';
import { ReportScheduler, systemClock } from '../reports/schedule.ts';
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
  const stopJobs = startJobs(
    [
      ...(config.gocdbUrl ? [gocdbPullJob({ gocdbUrl: config.gocdbUrl, cron: config.gocdbCron })] : []),
      ...amsJobs(config.ams, async () => {
        const accounting = runners.get('accounting')!;
        await accounting.catchUp();
        return accounting.db;
      }),
    ],
    log,
    logger,
  );
  const stopCollectors = config.collectors
    ? startCollectorJobs(
        collectorJobs(
          loadCollectorConfig(config.collectors),
          log,
          {},
          {
            onResult: (summary) => logger.info({ job: `collect:${summary.source}`, summary }, 'collection done'),
            onSkipped: (source) => logger.warn({ job: `collect:${source}` }, 'collection still running; tick skipped'),
            onError: (source, err) => logger.error({ job: `collect:${source}`, err }, 'collection failed'),
          },
        ),
      )
    : async () => {};
  const reports = config.reportSchedule
    ? new ReportScheduler({
        log,
        clock: systemClock,
        run: async (period, due) => {
          const run = await generateReport({
            log,
            readModels: async () => {
              for (const name of READ_MODELS) await runners.get(name)!.catchUp();
              return runners;
            },
            period,
            dir: defaultReportDir(config.dataDir, period),
            now: systemClock.now(),
            trigger: 'schedule',
            scheduledFor: due,
          });
          logger.info(
            { job: 'report', period: run.period, files: run.files.length, position: run.position },
            'report written',
          );
        },
        onError: (job, period, err) => logger.error({ job: job.name, period: period.name, err }, 'report failed'),
      })
    : undefined;
  // Reports read the projections, so the schedule starts once they have caught up.
  void caughtUp.then(() => (closing ? undefined : reports?.start()));
  return {
    url,
    server,
    log,
    tokens,
    runners,
    caughtUp,
    async close() {
      closing = true;
      await stopJobs();
      await stopCollectors();
      reports?.stop();
      await reports?.idle();
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

/**
 * The HTTP service: express in front for routing, request logs and metrics;
 * graphql-yoga at /graphql (GraphiQL on GET from a browser) with plugins for
 * what happens around a query: readiness at /readyz, the caller (auth and rate
 * limit in onRequest), the response cache with ETags, the concurrency limit,
 * the request deadline and execution cancellation; health, Prometheus
 * metrics, and the push endpoints (src/api/push.ts).
 */
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import express, { type NextFunction, type Request as ExpressRequest, type Response as ExpressResponse } from 'express';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { createYoga, useReadinessCheck, type YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import { UserError } from '../errors.ts';
import type { EventLog } from '../eventlog/port.ts';
import { LatestGlue2 } from '../glue2/snapshots.ts';
import type { ProjectionRunner } from '../projection/runner.ts';
import { Access } from './access.ts';
import type { ServeConfig } from './config.ts';
import type { ApiContext, ApiServices, HttpContext } from './context.ts';
import { GRAPHIQL_OPTIONS, renderOfflineGraphiQL } from './graphiql.ts';
import { errorBody } from './http-errors.ts';
import { LiveChanges } from './live.ts';
import { ApiMetrics } from './metrics.ts';
import { authPlugin } from './plugins/auth.ts';
import { concurrencyPlugin } from './plugins/concurrency.ts';
import { RequestDeadline } from './plugins/deadline.ts';
import { ResponseCache } from './plugins/response-cache.ts';
import { pushRoutes } from './push.ts';
import { requestCostPlugin } from './request-cost.ts';
import { buildSchema } from './resolvers/index.ts';
import type { Principal, TokenStore } from './tokens.ts';
import { WorkQueue } from './work-queue.ts';
import { isoInstant } from '../instant.ts';

export interface ApiServerOptions {
  config: ServeConfig;
  log: EventLog;
  runners: ReadonlyMap<string, ProjectionRunner>;
  tokens: TokenStore;
  logger: Logger;
  now?: () => Date;
}

type AuthedRequest = ExpressRequest & { principal?: Principal; requestId?: string };

const GRAPHQL = '/graphql';

export class ApiServer {
  readonly app = express();
  readonly metrics: ApiMetrics;
  readonly live: LiveChanges;
  readonly services: ApiServices;
  private readonly yoga: YogaServerInstance<HttpContext, Omit<ApiContext, 'request'>>;
  private readonly access: Access;
  private server: Server | undefined;
  private inFlight = 0;

  constructor(private readonly options: ApiServerOptions) {
    const { config, logger, runners } = options;
    this.metrics = new ApiMetrics(runners);
    this.live = new LiveChanges(runners.get('availability'));
    this.services = {
      config,
      log: options.log,
      runners,
      logger,
      live: this.live,
      work: new WorkQueue(),
      glue2: new LatestGlue2(options.log),
      now: options.now ?? (() => new Date()),
    };
    this.access = new Access(options.tokens, config);
    const cache = new ResponseCache({ runners, config, now: this.services.now });
    const deadline = new RequestDeadline(config.requestTimeoutMs);
    this.yoga = createYoga<HttpContext, Omit<ApiContext, 'request'>>({
      // The resolvers' context is ApiContext, built from HttpContext by `context` below.
      schema: buildSchema() as GraphQLSchema,
      graphqlEndpoint: GRAPHQL,
      // GraphiQL's page itself is public (every query it sends carries a token): a browser's GET without a query.
      graphiql: (_request, { req }) =>
        config.graphiql &&
        req.query['query'] === undefined &&
        req.accepts(['application/json', 'text/html']) === 'text/html'
          ? GRAPHIQL_OPTIONS
          : false,
      renderGraphiQL: renderOfflineGraphiQL,
      landingPage: false,
      logging: false,
      context: ({ request, req }: HttpContext & { request: Request }) => ({
        principal: req.principal!,
        services: this.services,
        request,
        signal: deadline.signalFor(req, request),
        answer: cache.answerFor(request),
      }),
      plugins: [
        // In this order: each onRequest may answer at once, and what it answers skips the plugins after it.
        useReadinessCheck({ endpoint: '/readyz', check: async ({ fetchAPI }) => this.readinessResponse(fetchAPI) }),
        authPlugin(this.access),
        cache.plugin,
        concurrencyPlugin(config.maxConcurrentQueries),
        deadline.plugin,
        // At parse time: validating thousands of aliases (overlapping-field checks) costs seconds by itself.
        maxTokensPlugin({ n: config.maxTokens, exposeLimits: true }),
        maxDepthPlugin({ n: config.maxDepth, exposeLimits: true, flattenFragments: true }),
        costLimitPlugin({ maxCost: config.maxCost, exposeLimits: true }),
        maxAliasesPlugin({ n: config.maxAliases, exposeLimits: true }),
        maxDirectivesPlugin({ n: config.maxDirectives, exposeLimits: true }),
        requestCostPlugin(config),
      ],
      // Only errors raised on purpose reach the caller; anything else is logged and masked.
      maskedErrors: {
        maskError: (error, message) => {
          const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
          if (original instanceof GraphQLError) return original;
          if (original instanceof UserError)
            return new GraphQLError(original.message, {
              extensions: { code: 'BAD_USER_INPUT', reason: original.code },
            });
          if (error instanceof GraphQLError && !error.originalError) return error;
          logger.error({ err: original }, 'resolver failed');
          return new GraphQLError(message, { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
        },
      },
    });
    this.routes();
  }

  private routes(): void {
    const { app, metrics } = this;
    app.disable('x-powered-by');
    app.set('etag', false);
    app.use((req: AuthedRequest, res, next) => {
      const started = process.hrtime.bigint();
      // Taken now: a router mounted on a prefix (yoga on /graphql) strips it from req.path.
      const path = req.path;
      req.requestId = (req.headers['x-request-id'] as string | undefined) ?? randomUUID();
      res.setHeader('X-Request-Id', req.requestId);
      this.inFlight++;
      res.once('close', () => {
        this.inFlight--;
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const route = req.route ? String(req.route.path) : path.startsWith(GRAPHQL) ? GRAPHQL : 'other';
        metrics.requestSeconds.observe({ route, method: req.method, status: String(res.statusCode) }, seconds);
        this.options.logger.info(
          {
            reqId: req.requestId,
            method: req.method,
            path,
            status: res.statusCode,
            ms: Math.round(seconds * 1e4) / 10,
            token: req.principal?.tokenId,
          },
          'request',
        );
      });
      next();
    });
    app.get('/healthz', (_req, res) => {
      res.json({ status: 'ok' });
    });
    const yoga = (req: ExpressRequest, res: ExpressResponse) => void this.yoga(req, res);
    app.get('/readyz', yoga);
    app.get('/metrics', async (_req, res, next) => {
      try {
        res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
      } catch (error) {
        next(error);
      }
    });
    app.use(
      pushRoutes({
        log: this.options.log,
        access: this.access,
        metrics,
        logger: this.options.logger,
        maxBytes: this.options.config.maxPushBytes,
      }),
    );
    // Parsed here: whatwg-node's own reading of a Node request body costs milliseconds of waiting per request.
    app.use(GRAPHQL, express.json({ limit: '1mb' }), yoga);
    app.use((error: unknown, req: AuthedRequest, res: ExpressResponse, _next: NextFunction) => {
      const status = (error as { status?: number }).status;
      if ((error as { type?: string }).type === 'entity.too.large') {
        const { limit: bytes } = error as { limit: number };
        res.status(413).json(errorBody('PAYLOAD_TOO_LARGE', `request body exceeds the limit of ${bytes} bytes`));
        return;
      }
      if (status && status >= 400 && status < 500) {
        res.status(status).json(errorBody('BAD_REQUEST', (error as Error).message));
        return;
      }
      this.options.logger.error({ err: error, reqId: req.requestId }, 'request failed');
      if (!res.headersSent) res.status(500).json(errorBody('INTERNAL_SERVER_ERROR', 'internal error'));
    });
  }

  private async readinessResponse(fetchAPI: { Response: typeof Response }): Promise<Response> {
    const status = await this.readiness();
    return new fetchAPI.Response(JSON.stringify(status), {
      status: status.ready ? 200 : 503,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
  }

  /** Ready when every projection is within the configured lag and none is failing (its reason is then given). */
  async readiness(): Promise<{
    ready: boolean;
    maxLag: number;
    projections: Array<{
      name: string;
      checkpoint: string;
      head: string;
      lag: string;
      failing?: { reason: string; since: string; attempts: number };
    }>;
  }> {
    const maxLag = BigInt(this.options.config.readyMaxLag);
    let ready = true;
    const projections = [];
    for (const [name, runner] of this.options.runners) {
      const head = await runner.head();
      const checkpoint = runner.checkpoint;
      const lag = head > checkpoint ? head - checkpoint : 0n;
      const failure = runner.failure;
      if (lag > maxLag || failure) ready = false;
      projections.push({
        name,
        checkpoint: String(checkpoint),
        head: String(head),
        lag: String(lag),
        ...(failure
          ? { failing: { reason: failure.reason, since: isoInstant(failure.since), attempts: failure.attempts } }
          : {}),
      });
    }
    return { ready, maxLag: Number(maxLag), projections };
  }

  /** Listens on the configured host and port (0: an ephemeral port); resolves to the base URL. */
  listen(port = this.options.config.port, host = this.options.config.host): Promise<string> {
    return new Promise((resolve, reject) => {
      const server = this.app.listen(port, host, (error?: Error) => {
        if (error) return reject(error);
        const address = server.address() as AddressInfo;
        resolve(`http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`);
      });
      server.keepAliveTimeout = 5000;
      this.server = server;
    });
  }

  /** Stops accepting, ends live streams, lets in-flight requests finish (up to the grace period), then closes. */
  async close(): Promise<void> {
    const server = this.server;
    this.live.close();
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const grace = new Promise<void>((resolve) => setTimeout(resolve, this.options.config.shutdownGraceMs).unref());
    await Promise.race([closed, grace]);
    server.closeAllConnections();
    await closed;
    this.server = undefined;
  }

  get activeRequests(): number {
    return this.inFlight;
  }
}

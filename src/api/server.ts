/**
 * The HTTP service: express in front, graphql-yoga at /graphql (GraphiQL on
 * GET from a browser), health, readiness, Prometheus metrics, and the push
 * endpoints for APEL messages and probe results. Every /graphql and /v1
 * request needs a bearer token. Yoga's responses are written here rather
 * than by yoga, so that a request timeout, ETag revalidation and a small
 * response cache for GET queries sit in one place.
 */
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import express, { type NextFunction, type Request as ExpressRequest, type Response as ExpressResponse } from 'express';
import { createHash, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { GraphQLError } from 'graphql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import { FedledgerError, UserError } from '../errors.ts';
import type { EventLog } from '../eventlog/port.ts';
import { LatestGlue2 } from '../glue2/snapshots.ts';
import { ingestApelMessage, SiteMismatchError } from '../ingest/apel-service.ts';
import { ingestProbeResults } from '../ingest/availability-service.ts';
import type { ProjectionRunner } from '../projection/runner.ts';
import type { ServeConfig } from './config.ts';
import type { ApiContext, ApiServices } from './context.ts';
import { GRAPHIQL_OPTIONS, renderOfflineGraphiQL } from './graphiql.ts';
import { LiveChanges } from './live.ts';
import { ApiMetrics } from './metrics.ts';
import { storeUnavailable } from './unavailable.ts';
import { TokenBuckets } from './rate-limit.ts';
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
/** What execute() hands yoga for the context of one request. */
type ServerContext = { principal?: Principal; answer?: ApiContext['answer']; deadline?: AbortSignal };

/** Cached GET responses, at most this many (least recently stored evicted first). */
const CACHE_ENTRIES = 2000;

interface CacheKey {
  key: string;
  stable: string;
  timed: string;
}

interface CachedResponse {
  etag: string;
  status: number;
  contentType: string;
  body: string;
}

const errorBody = (code: string, message: string) => ({ errors: [{ message, extensions: { code } }] });

export class ApiServer {
  readonly app = express();
  readonly metrics: ApiMetrics;
  readonly live: LiveChanges;
  readonly services: ApiServices;
  private readonly yoga: YogaServerInstance<ServerContext, Omit<ApiContext, 'request'>>;
  private readonly buckets: TokenBuckets;
  private executing = 0;
  private readonly cache = new Map<string, CachedResponse>();
  /** Misses being computed, by cache key: concurrent pollers of the same answer wait for one computation. */
  private readonly computing = new Map<string, Promise<CachedResponse | undefined>>();
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
    this.buckets = new TokenBuckets({ perSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst });
    this.yoga = createYoga<ServerContext, Omit<ApiContext, 'request'>>({
      schema: buildSchema(),
      graphqlEndpoint: '/graphql',
      graphiql: config.graphiql ? GRAPHIQL_OPTIONS : false,
      renderGraphiQL: renderOfflineGraphiQL,
      landingPage: false,
      logging: false,
      context: ({ request, principal, answer, deadline }: ServerContext & { request: Request }) => ({
        principal: principal!,
        services: this.services,
        request,
        signal: deadline ? AbortSignal.any([request.signal, deadline]) : request.signal,
        answer: answer ?? { timeDependent: false },
      }),
      plugins: [
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
      req.requestId = (req.headers['x-request-id'] as string | undefined) ?? randomUUID();
      res.setHeader('X-Request-Id', req.requestId);
      this.inFlight++;
      res.once('close', () => {
        this.inFlight--;
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const route = req.route ? String(req.route.path) : req.path.startsWith('/graphql') ? '/graphql' : 'other';
        metrics.requestSeconds.observe({ route, method: req.method, status: String(res.statusCode) }, seconds);
        this.options.logger.info(
          {
            reqId: req.requestId,
            method: req.method,
            path: req.path,
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
    app.get('/readyz', async (_req, res, next) => {
      try {
        const status = await this.readiness();
        res.status(status.ready ? 200 : 503).json(status);
      } catch (error) {
        next(error);
      }
    });
    app.get('/metrics', async (_req, res, next) => {
      try {
        res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
      } catch (error) {
        next(error);
      }
    });
    app.use(['/graphql', '/v1'], (req: AuthedRequest, res, next) => this.authenticate(req, res, next));
    app.use(['/graphql', '/v1'], (req: AuthedRequest, res, next) => this.rateLimit(req, res, next));
    // Parsed here: whatwg-node's own reading of a Node request body costs milliseconds of waiting per request.
    app.all('/graphql', express.json({ limit: '1mb' }), (req: AuthedRequest, res, next) => {
      this.graphql(req, res).catch(next);
    });
    const limit = this.options.config.maxPushBytes;
    // APEL messages stay bytes until the parser decodes them, which rejects records with invalid UTF-8.
    const bytes = express.raw({ type: () => true, limit });
    const text = express.text({ type: () => true, limit });
    app.post('/v1/apel/cloud', bytes, (req: AuthedRequest, res, next) => {
      this.ingestApel(req, res).catch(next);
    });
    app.post('/v1/probes', text, (req: AuthedRequest, res, next) => {
      this.ingestProbes(req, res).catch(next);
    });
    app.use((error: unknown, req: AuthedRequest, res: ExpressResponse, _next: NextFunction) => {
      const status = (error as { status?: number }).status;
      if ((error as { type?: string }).type === 'entity.too.large') {
        const { limit: bytes } = error as { limit: number };
        const setting = req.path.startsWith('/v1/') ? ' (maxPushBytes)' : '';
        res
          .status(413)
          .json(errorBody('PAYLOAD_TOO_LARGE', `request body exceeds the limit of ${bytes} bytes${setting}`));
        return;
      }
      if (status && status >= 400 && status < 500) {
        res.status(status).json(errorBody('BAD_REQUEST', (error as Error).message));
        return;
      }
      const unavailable = storeUnavailable(error);
      if (unavailable) {
        this.options.logger.error({ err: error, reqId: req.requestId }, 'store unavailable');
        if (!res.headersSent)
          res
            .status(503)
            .setHeader('Retry-After', String(unavailable.retryAfterSeconds))
            .json(errorBody(unavailable.code, unavailable.message));
        return;
      }
      this.options.logger.error({ err: error, reqId: req.requestId }, 'request failed');
      if (!res.headersSent) res.status(500).json(errorBody('INTERNAL_SERVER_ERROR', 'internal error'));
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

  private authenticate(req: AuthedRequest, res: ExpressResponse, next: NextFunction): void {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const principal = match ? this.options.tokens.verify(match[1]!) : undefined;
    if (principal) {
      req.principal = principal;
      next();
      return;
    }
    // GraphiQL's page itself is public; every query it sends carries a token. Mounted on /graphql, the path is '/'.
    if (
      req.method === 'GET' &&
      req.baseUrl === '/graphql' &&
      req.path === '/' &&
      req.query['query'] === undefined &&
      req.accepts(['application/json', 'text/html']) === 'text/html'
    ) {
      next();
      return;
    }
    res.setHeader('WWW-Authenticate', 'Bearer');
    res
      .status(401)
      .json(errorBody('UNAUTHENTICATED', match ? 'invalid or revoked token' : 'a bearer token is required'));
  }

  /** 429 with Retry-After once a token has spent its bucket. */
  private rateLimit(req: AuthedRequest, res: ExpressResponse, next: NextFunction): void {
    if (!req.principal) return next();
    const admission = this.buckets.take(req.principal.tokenId, Date.now());
    if (admission.admitted) return next();
    res.setHeader('Retry-After', String(admission.retryAfterSeconds));
    res
      .status(429)
      .json(
        errorBody(
          'RATE_LIMITED',
          `this token may make ${this.options.config.rateLimitPerSecond} requests per second (bursts of ${this.options.config.rateLimitBurst})`,
        ),
      );
  }

  /**
   * Cache identity of a GET query: the caller's scope and the URL (`key`), and two ETags: one for an answer that
   * depends only on the read models (their checkpoints), one for an answer that also moves with the clock (the
   * checkpoints and a `cacheWindowSeconds` window). Which one an answer has is learnt when it is computed.
   */
  private cacheKey(req: AuthedRequest, p: Principal): CacheKey {
    const checkpoints = [...this.options.runners.values()].map((r) => String(r.checkpoint)).join(',');
    const window = Math.floor(this.services.now().getTime() / (1000 * this.options.config.cacheWindowSeconds));
    const key = `${p.role}\u0000${p.scope ?? ''}\u0000${req.originalUrl}`;
    const tag = (parts: string) => `W/"${createHash('sha1').update(`${key}\u0000${parts}`).digest('base64url')}"`;
    return { key, stable: tag(checkpoints), timed: tag(`${checkpoints}\u0000${window}`) };
  }

  private async graphql(req: AuthedRequest, res: ExpressResponse): Promise<void> {
    const principal = req.principal;
    if (principal?.role === 'ingest') {
      res.status(403).json(errorBody('FORBIDDEN', 'ingest tokens may only push records'));
      return;
    }
    const cacheable = req.method === 'GET' && principal !== undefined && typeof req.query['query'] === 'string';
    const cached = cacheable ? this.cacheKey(req, principal) : undefined;
    if (cached) {
      res.setHeader('Cache-Control', `private, max-age=${this.options.config.cacheMaxAgeSeconds}`);
      res.setHeader('Vary', 'Authorization');
      const ifNoneMatch = req.headers['if-none-match'];
      if (ifNoneMatch === cached.stable || ifNoneMatch === cached.timed) {
        res.setHeader('ETag', ifNoneMatch);
        res.status(304).end();
        return;
      }
      const hit = this.cache.get(cached.key);
      const ready =
        hit && (hit.etag === cached.stable || hit.etag === cached.timed) ? hit : await this.computing.get(cached.key);
      if (ready && (ready.etag === cached.stable || ready.etag === cached.timed)) {
        res.setHeader('ETag', ready.etag);
        res.status(ready.status).type(ready.contentType).send(ready.body);
        return;
      }
    }
    // Refused at once rather than queued behind work that would outlast the caller's patience.
    if (this.executing >= this.options.config.maxConcurrentQueries) {
      res.setHeader('Retry-After', '1');
      res.status(503).json(errorBody('OVERLOADED', 'the server is busy with other queries; retry shortly'));
      return;
    }
    let settle: ((r: CachedResponse | undefined) => void) | undefined;
    if (cached) this.computing.set(cached.key, new Promise((resolve) => (settle = resolve)));
    try {
      await this.execute(req, res, principal, cached, (r) => settle?.(r));
    } finally {
      settle?.(undefined);
      if (cached) this.computing.delete(cached.key);
    }
  }

  /** Runs one request through yoga and writes its response; a cacheable answer is stored and handed to `computed`. */
  private async execute(
    req: AuthedRequest,
    res: ExpressResponse,
    principal: Principal | undefined,
    cached: CacheKey | undefined,
    computed: (r: CachedResponse) => void,
  ): Promise<void> {
    const timeout = new AbortController();
    const late = `request took longer than ${this.options.config.requestTimeoutMs} ms`;
    const timer = setTimeout(
      () => timeout.abort(new GraphQLError(late, { extensions: { code: 'TIMEOUT' } })),
      this.options.config.requestTimeoutMs,
    );
    try {
      const answer = { timeDependent: false };
      const handled = Promise.resolve(
        this.yoga.handleNodeRequestAndResponse(req, res, { principal, answer, deadline: timeout.signal }),
      );
      // Counted until yoga is done, which after a timeout is when the request's queued resolvers have been dropped.
      this.executing++;
      const done = () => void this.executing--;
      handled.then(done, done);
      const timedOut = new Promise<'timeout'>((resolve) =>
        timeout.signal.addEventListener('abort', () => resolve('timeout'), { once: true }),
      );
      const response = await Promise.race([handled, timedOut]);
      if (response === 'timeout') {
        handled.then((r) => r.body?.cancel()).catch(() => {});
        if (!res.headersSent) res.status(503).json(errorBody('TIMEOUT', late));
        return;
      }
      clearTimeout(timer);
      const contentType = response.headers.get('content-type') ?? 'application/json';
      response.headers.forEach((value, name) => {
        if (name !== 'content-length') res.setHeader(name, value);
      });
      res.status(response.status);
      if (contentType.startsWith('text/event-stream') && response.body) {
        res.setHeader('Cache-Control', 'no-store');
        res.flushHeaders();
        // Yoga's body is a whatwg-node stream, not Node's own web stream: read it as an async iterable.
        const stream = Readable.from(response.body as unknown as AsyncIterable<Uint8Array>);
        res.once('close', () => stream.destroy());
        stream.pipe(res);
        return;
      }
      const body = await response.text();
      if (cached && response.status === 200 && !body.includes('"errors"')) {
        if (this.cache.size >= CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
        this.cache.delete(cached.key);
        const entry = {
          etag: answer.timeDependent ? cached.timed : cached.stable,
          status: response.status,
          contentType,
          body,
        };
        this.cache.set(cached.key, entry);
        res.setHeader('ETag', entry.etag);
        computed(entry);
      } else if (cached) {
        res.setHeader('Cache-Control', 'no-store');
      }
      res.send(body);
    } finally {
      clearTimeout(timer);
    }
  }

  private async ingestApel(req: AuthedRequest, res: ExpressResponse): Promise<void> {
    const p = req.principal!;
    const siteIngest = p.role === 'ingest' && p.scope !== null;
    if (p.role !== 'staff' && !siteIngest) {
      res.status(403).json(errorBody('FORBIDDEN', 'this token may not push APEL messages'));
      return;
    }
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    try {
      const result = await ingestApelMessage(this.options.log, body, {
        publisher: `token:${p.tokenId}`,
        ...(siteIngest ? { allowedSite: p.scope! } : {}),
      });
      this.metrics.countIngest('apel', result);
      res.status(result.accepted + result.unchanged > 0 || result.rejected === 0 ? 200 : 422).json(result);
    } catch (error) {
      if (error instanceof SiteMismatchError)
        res
          .status(403)
          .json({ errors: [{ message: error.message, extensions: { code: error.code, location: error.location } }] });
      else if (error instanceof UserError)
        res
          .status(400)
          .json({ errors: [{ message: error.message, extensions: { code: error.code, location: error.location } }] });
      else throw error;
    }
  }

  private async ingestProbes(req: AuthedRequest, res: ExpressResponse): Promise<void> {
    const p = req.principal!;
    if (p.role !== 'staff' && !(p.role === 'ingest' && p.scope === null)) {
      res.status(403).json(errorBody('FORBIDDEN', 'only monitoring ingest tokens and staff may push probe results'));
      return;
    }
    const text = typeof req.body === 'string' ? req.body : '';
    try {
      const result = await ingestProbeResults(this.options.log, text, {
        publisher: `token:${p.tokenId}`,
        source: 'POST /v1/probes',
      });
      this.metrics.countIngest('probes', result);
      res.status(200).json(result);
    } catch (error) {
      if (error instanceof FedledgerError && !storeUnavailable(error))
        res
          .status(400)
          .json({ errors: [{ message: error.message, extensions: { code: error.code, location: error.location } }] });
      else throw error;
    }
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

/**
 * The push endpoints: `POST /v1/apel/cloud` (one APEL cloud message) and
 * `POST /v1/probes` (probe results as JSON lines). Each checks the caller's
 * role, hands the body to its ingest service and answers its summary; every
 * failure goes through one mapping to HTTP (`pushFailure`).
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { UserError } from '../errors.ts';
import type { EventLog } from '../eventlog/port.ts';
import { ingestApelMessage, SiteMismatchError } from '../ingest/apel-service.ts';
import { ingestProbeResults } from '../ingest/availability-service.ts';
import type { Access } from './access.ts';
import { errorBody, type Refusal, refusal } from './http-errors.ts';
import type { ApiMetrics } from './metrics.ts';
import type { Principal } from './tokens.ts';
import { storeUnavailable } from './unavailable.ts';

export interface PushOptions {
  log: EventLog;
  access: Access;
  metrics: ApiMetrics;
  logger: Logger;
  /** Largest body accepted (maxPushBytes). */
  maxBytes: number;
}

type PushRequest = Request & { principal?: Principal; requestId?: string };

/** What a failed push answers: the caller's fault (4xx, with the input's location), the store's (503), or ours (500). */
export function pushFailure(error: unknown, maxBytes: number): Refusal & { log?: string } {
  if ((error as { type?: string }).type === 'entity.too.large')
    return refusal(413, 'PAYLOAD_TOO_LARGE', `request body exceeds the limit of ${maxBytes} bytes (maxPushBytes)`);
  const status = (error as { status?: number }).status;
  if (status && status >= 400 && status < 500) return refusal(status, 'BAD_REQUEST', (error as Error).message);
  if (error instanceof UserError)
    return {
      status: error instanceof SiteMismatchError ? 403 : 400,
      body: errorBody(error.code, error.message, { location: error.location }),
    };
  const unavailable = storeUnavailable(error);
  if (unavailable)
    return {
      ...refusal(503, unavailable.code, unavailable.message, { 'Retry-After': String(unavailable.retryAfterSeconds) }),
      log: 'store unavailable',
    };
  return { ...refusal(500, 'INTERNAL_SERVER_ERROR', 'internal error'), log: 'request failed' };
}

function send(res: Response, r: Refusal): void {
  if (r.headers) res.set(r.headers);
  res.status(r.status).json(r.body);
}

export function pushRoutes(o: PushOptions): Router {
  const router = express.Router();
  router.use('/v1', (req: PushRequest, res, next) => {
    const admission = o.access.admit(req.headers.authorization);
    if (admission.principal) req.principal = admission.principal;
    if (admission.refused) return send(res, admission.refused);
    next();
  });
  // APEL messages stay bytes until the parser decodes them, which rejects records with invalid UTF-8.
  const bytes = express.raw({ type: () => true, limit: o.maxBytes });
  const text = express.text({ type: () => true, limit: o.maxBytes });

  router.post('/v1/apel/cloud', bytes, (req: PushRequest, res, next) => {
    const p = req.principal!;
    const siteIngest = p.role === 'ingest' && p.scope !== null;
    if (p.role !== 'staff' && !siteIngest)
      return send(res, refusal(403, 'FORBIDDEN', 'this token may not push APEL messages'));
    ingestApelMessage(o.log, Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), {
      publisher: `token:${p.tokenId}`,
      ...(siteIngest ? { allowedSite: p.scope! } : {}),
    }).then((result) => {
      o.metrics.countIngest('apel', result);
      res.status(result.accepted + result.unchanged > 0 || result.rejected === 0 ? 200 : 422).json(result);
    }, next);
  });

  router.post('/v1/probes', text, (req: PushRequest, res, next) => {
    const p = req.principal!;
    if (p.role !== 'staff' && !(p.role === 'ingest' && p.scope === null))
      return send(res, refusal(403, 'FORBIDDEN', 'only monitoring ingest tokens and staff may push probe results'));
    ingestProbeResults(o.log, typeof req.body === 'string' ? req.body : '', {
      publisher: `token:${p.tokenId}`,
      source: 'POST /v1/probes',
    }).then((result) => {
      o.metrics.countIngest('probes', result);
      res.status(200).json(result);
    }, next);
  });

  router.use('/v1', (error: unknown, req: PushRequest, res: Response, _next: NextFunction) => {
    const failure = pushFailure(error, o.maxBytes);
    if (failure.log) o.logger.error({ err: error, reqId: req.requestId }, failure.log);
    if (!res.headersSent) send(res, failure);
  });
  return router;
}

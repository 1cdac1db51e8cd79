/**
 * What every resolver gets: the caller, the services behind the API and
 * request-scoped helpers.
 */
import type Database from 'better-sqlite3';
import type { Request as ExpressRequest, Response as ExpressResponse } from 'express';
import type { Logger } from 'pino';
import { GraphQLError } from 'graphql';
import type { EventLog } from '../eventlog/port.ts';
import type { LatestGlue2 } from '../glue2/snapshots.ts';
import type { ProjectionRunner } from '../projection/runner.ts';
import type { ServeConfig } from './config.ts';
import type { LiveChanges } from './live.ts';
import type { Principal } from './tokens.ts';
import type { WorkQueue } from './work-queue.ts';

export interface ApiServices {
  config: ServeConfig;
  log: EventLog;
  runners: ReadonlyMap<string, ProjectionRunner>;
  logger: Logger;
  live: LiveChanges;
  /** Where resolvers take turns (see work-queue.ts). */
  work: WorkQueue;
  glue2: LatestGlue2;
  /** The clock: tests pin it; A/R for today covers only its elapsed part. */
  now(): Date;
}

/** What yoga gets from express for each request: the Node request (with the caller once admitted) and response. */
export interface HttpContext {
  req: ExpressRequest & { principal?: Principal; requestId?: string };
  res: ExpressResponse;
}

export interface ApiContext {
  principal: Principal;
  services: ApiServices;
  /** The Fetch request; its signal aborts when the response closes: answered early (a timeout) or the client gone. */
  request: Request;
  /** The request's signal: once it aborts, the request's queued resolvers are dropped and execution stops. */
  signal: AbortSignal;
  /** Set by resolvers whose answer moves with the clock (today's running A/R, latest status): bounds its caching. */
  answer: { timeDependent: boolean };
}

/** Whether a day range reaches today (UTC), whose figures cover only its elapsed part. */
export function reachesToday(ctx: ApiContext, to: string): boolean {
  return to >= ctx.services.now().toISOString().slice(0, 10);
}

/** The named read model's database; a missing projection is a server configuration error. */
export function readModel(services: ApiServices, name: string): Database.Database {
  const runner = services.runners.get(name);
  if (!runner)
    throw new GraphQLError(`the ${name} read model is not available on this server`, {
      extensions: { code: 'UNAVAILABLE' },
    });
  return runner.db;
}

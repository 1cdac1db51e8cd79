/**
 * Yoga plugin: a request that takes longer than `ms` is answered 503
 * TIMEOUT, and its execution is cancelled: the signal yoga's executor gets
 * (as with yoga's useExecutionCancellation, which only follows the client)
 * aborts at the deadline too, and the work queue drops the request's queued
 * resolvers unrun (src/api/work-queue.ts), so a timed-out query stops costing CPU.
 * Armed after the response cache: hits and 304s are not timed.
 */
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { ApiContext, HttpContext } from '../context.ts';
import { errorBody } from '../http-errors.ts';

interface Deadline {
  signal: AbortSignal;
  timer: NodeJS.Timeout;
}

export class RequestDeadline {
  private readonly deadlines = new WeakMap<object, Deadline>();

  constructor(private readonly ms: number) {}

  /** Aborts when the request's deadline passes or its client goes away. */
  signalFor(req: object, request: Request): AbortSignal {
    return this.deadlines.get(req)?.signal ?? request.signal;
  }

  readonly plugin: Plugin<object, HttpContext> = {
    onRequest: ({ request, serverContext: { req, res } }) => {
      const late = `request took longer than ${this.ms} ms`;
      const timeout = new AbortController();
      const timer = setTimeout(() => {
        timeout.abort(new GraphQLError(late, { extensions: { code: 'TIMEOUT' } }));
        // Yoga's own response, when it comes, finds this one written and is dropped.
        if (!res.headersSent) res.status(503).json(errorBody('TIMEOUT', late));
      }, this.ms);
      this.deadlines.set(req, { signal: AbortSignal.any([request.signal, timeout.signal]), timer });
    },
    onExecute: ({ args }) => {
      (args as { signal?: AbortSignal }).signal = (args.contextValue as unknown as ApiContext).signal;
    },
    onSubscribe: ({ args }) => {
      (args as { signal?: AbortSignal }).signal = (args.contextValue as unknown as ApiContext).signal;
    },
    onResponse: ({ serverContext: { req } }) => {
      clearTimeout(this.deadlines.get(req)?.timer);
    },
  };
}

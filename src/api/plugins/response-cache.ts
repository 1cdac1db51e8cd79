/**
 * Yoga plugin: cheap polling. A GET query's identity is the caller's role and
 * scope and the URL; its ETag is computed from that and every read model's
 * checkpoint, and for an answer that moves with the clock (resolvers mark it:
 * `answer.timeDependent`) also from a `cacheWindowSeconds` window. Which of
 * the two an answer has is learnt when it is computed, so both are accepted:
 *
 * - onRequest: a matching If-None-Match is 304 without running anything; an
 *   answer stored for the same identity and state is served as it was stored;
 *   a poller of an answer being computed waits for that one computation;
 * - onResponse: a 200 without errors is stored (at most `CACHE_ENTRIES`,
 *   oldest stored first out) and carries its ETag; anything else is no-store.
 *
 * Not @graphql-yoga/plugin-response-cache: its key is fixed before execution
 * (so an answer cannot turn out to be time-dependent), its 304 trusts any
 * stored key, and it has no single computation for concurrent pollers.
 */
import { createHash } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import type { ServeConfig } from '../config.ts';
import type { ApiContext, HttpContext } from '../context.ts';
import type { ProjectionRunner } from '../../projection/runner.ts';

/** Cached GET responses, at most this many (least recently stored evicted first). */
const CACHE_ENTRIES = 2000;

interface Stored {
  etag: string;
  status: number;
  contentType: string;
  body: string;
}

/** A cacheable request being computed: its identity, its two candidate ETags, and who waits for it. */
interface Pending {
  key: string;
  stable: string;
  timed: string;
  settle: (r: Stored | undefined) => void;
}

export interface ResponseCacheOptions {
  runners: ReadonlyMap<string, ProjectionRunner>;
  config: Pick<ServeConfig, 'cacheMaxAgeSeconds' | 'cacheWindowSeconds'>;
  now: () => Date;
}

export class ResponseCache {
  private readonly stored = new Map<string, Stored>();
  /** Misses being computed, by identity: concurrent pollers of the same answer wait for one computation. */
  private readonly computing = new Map<string, Promise<Stored | undefined>>();
  private readonly answers = new WeakMap<Request, ApiContext['answer']>();
  private readonly pending = new WeakMap<Request, Pending>();

  constructor(private readonly o: ResponseCacheOptions) {}

  /** The request's answer flags, which its resolvers set (ApiContext.answer). */
  answerFor(request: Request): ApiContext['answer'] {
    let answer = this.answers.get(request);
    if (!answer) this.answers.set(request, (answer = { timeDependent: false }));
    return answer;
  }

  private tags(identity: string): { stable: string; timed: string } {
    const checkpoints = [...this.o.runners.values()].map((r) => String(r.checkpoint)).join(',');
    const window = Math.floor(this.o.now().getTime() / (1000 * this.o.config.cacheWindowSeconds));
    const tag = (parts: string) => `W/"${createHash('sha1').update(`${identity}\u0000${parts}`).digest('base64url')}"`;
    return { stable: tag(checkpoints), timed: tag(`${checkpoints}\u0000${window}`) };
  }

  private get headers(): Record<string, string> {
    return { 'cache-control': `private, max-age=${this.o.config.cacheMaxAgeSeconds}`, vary: 'Authorization' };
  }

  readonly plugin: Plugin<object, HttpContext> = {
    onRequest: async ({ request, serverContext: { req }, fetchAPI, endResponse }) => {
      const p = req.principal;
      if (request.method !== 'GET' || !p || typeof req.query['query'] !== 'string') return;
      const key = `${p.role}\u0000${p.scope ?? ''}\u0000${req.originalUrl}`;
      const { stable, timed } = this.tags(key);
      const current = (etag: string | null | undefined) => etag === stable || etag === timed;
      const ifNoneMatch = request.headers.get('if-none-match');
      if (current(ifNoneMatch))
        return endResponse(
          new fetchAPI.Response(null, { status: 304, headers: { ...this.headers, etag: ifNoneMatch! } }),
        );
      const hit = this.stored.get(key);
      const ready = hit && current(hit.etag) ? hit : await this.computing.get(key);
      if (ready && current(ready.etag))
        return endResponse(
          new fetchAPI.Response(ready.body, {
            status: ready.status,
            headers: { ...this.headers, etag: ready.etag, 'content-type': ready.contentType },
          }),
        );
      let settle!: (r: Stored | undefined) => void;
      this.computing.set(key, new Promise((resolve) => (settle = resolve)));
      this.pending.set(request, { key, stable, timed, settle });
    },
    onResponse: async ({ request, response, fetchAPI, setResponse }) => {
      const contentType = response.headers.get('content-type') ?? 'application/json';
      const pending = this.pending.get(request);
      this.pending.delete(request);
      // A subscription's stream is never cached, nor read here.
      if (contentType.startsWith('text/event-stream')) response.headers.set('cache-control', 'no-store');
      if (!pending) return;
      let entry: Stored | undefined;
      try {
        if (contentType.startsWith('text/event-stream')) return;
        const body = await response.text();
        const headers: Record<string, string> = {};
        response.headers.forEach((value, name) => {
          if (name !== 'content-length') headers[name] = value;
        });
        Object.assign(headers, this.headers, { 'content-type': contentType });
        if (response.status === 200 && !body.includes('"errors"')) {
          entry = {
            etag: this.answerFor(request).timeDependent ? pending.timed : pending.stable,
            status: response.status,
            contentType,
            body,
          };
          if (this.stored.size >= CACHE_ENTRIES) this.stored.delete(this.stored.keys().next().value!);
          this.stored.delete(pending.key);
          this.stored.set(pending.key, entry);
          headers['etag'] = entry.etag;
        } else headers['cache-control'] = 'no-store';
        setResponse(new fetchAPI.Response(body, { status: response.status, headers }));
      } finally {
        pending.settle(entry);
        this.computing.delete(pending.key);
      }
    },
  };
}

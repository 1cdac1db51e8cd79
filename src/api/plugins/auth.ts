/**
 * Yoga plugin: the caller of /graphql, decided in onRequest before anything
 * is parsed (src/api/access.ts: token, then rate limit). Ingest tokens may
 * only push. GraphiQL's page, which yoga serves before any plugin of ours,
 * is the one thing public (server.ts decides when it is served).
 */
import type { Plugin } from 'graphql-yoga';
import type { Access } from '../access.ts';
import type { HttpContext } from '../context.ts';
import { type Refusal, refusal } from '../http-errors.ts';

export function jsonResponse(fetchAPI: { Response: typeof Response }, r: Refusal): Response {
  return new fetchAPI.Response(JSON.stringify(r.body), {
    status: r.status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...r.headers },
  });
}

export function authPlugin(access: Access): Plugin<object, HttpContext> {
  return {
    onRequest({ serverContext: { req }, fetchAPI, endResponse }) {
      const admission = access.admit(req.headers.authorization);
      if (admission.principal) req.principal = admission.principal;
      if (admission.refused) return endResponse(jsonResponse(fetchAPI, admission.refused));
      if (admission.principal.role === 'ingest')
        endResponse(jsonResponse(fetchAPI, refusal(403, 'FORBIDDEN', 'ingest tokens may only push records')));
    },
  };
}

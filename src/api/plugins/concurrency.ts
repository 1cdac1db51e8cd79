/**
 * Yoga plugin: at most `max` GraphQL requests executing at once; past it 503
 * OVERLOADED with Retry-After, at once rather than queued behind work that
 * would outlast the caller's patience. Placed after the response cache, so
 * cache hits and 304s never count. A request counts until yoga has its
 * response, which after a timeout is when its queued resolvers have been dropped.
 */
import type { Plugin } from 'graphql-yoga';
import type { HttpContext } from '../context.ts';
import { refusal } from '../http-errors.ts';
import { jsonResponse } from './auth.ts';

export function concurrencyPlugin(max: number): Plugin<object, HttpContext> {
  let executing = 0;
  const counted = new WeakSet<Request>();
  return {
    onRequest({ request, fetchAPI, endResponse }) {
      if (executing >= max) {
        const busy = refusal(503, 'OVERLOADED', 'the server is busy with other queries; retry shortly', {
          'Retry-After': '1',
        });
        return endResponse(jsonResponse(fetchAPI, busy));
      }
      executing++;
      counted.add(request);
    },
    onResponse({ request }) {
      if (counted.delete(request)) executing--;
    },
  };
}

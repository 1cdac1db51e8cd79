/**
 * nock for the collector tests. nock 15 intercepts Node's fetch through
 * @mswjs/interceptors, which calls Promise.withResolvers (Node ≥ 22); on
 * Node 20 it is supplied here, before any request is made.
 */
import nock from 'nock';

if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

export default nock;

import test from 'ava';
import { setImmediate as turn } from 'node:timers/promises';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadServeConfig } from '../../src/api/config.ts';
import { TokenBuckets } from '../../src/api/rate-limit.ts';
import { checkRequestCost, type RootField } from '../../src/api/request-cost.ts';
import { WorkQueue } from '../../src/api/work-queue.ts';
import { tempDir } from '../support/tmp.ts';

const LIMITS = { maxDailySpanDays: 366, maxSpanDays: 3660, maxRequestDays: 1000, maxFilterValues: 3 };

const refusal = (fields: RootField[]) => {
  try {
    checkRequestCost(fields, LIMITS);
    return undefined;
  } catch (error) {
    return (error as { extensions: Record<string, unknown> }).extensions;
  }
};

test('request cost: day spans per granularity, days added over root fields, filter list sizes', (t) => {
  const ar = (from: string, to: string, granularity: string, levels?: string[]): RootField => ({
    name: 'availability',
    args: { from, to, granularity, ...(levels ? { levels } : {}) },
  });
  t.is(refusal([ar('2025-01-01', '2026-01-01', 'daily')]), undefined, '366 days, both ends included');
  t.deepEqual(refusal([ar('2025-01-01', '2026-01-02', 'daily')]), {
    code: 'LIMIT_EXCEEDED',
    argument: 'to',
    limit: 366,
    setting: 'maxDailySpanDays',
  });
  t.is(refusal([ar('0001-01-01', '9999-12-31', 'monthly')])?.['setting'], 'maxSpanDays');
  t.is(refusal([{ name: 'statusTimelines', args: { from: '2025-01-01', to: '2026-06-30' } }])?.['limit'], 366);
  // 2 x 300 days x 2 levels = 1200 > 1000; one of them alone is 600.
  const half = ar('2025-01-01', '2025-10-27', 'monthly', ['site', 'service']);
  t.is(refusal([half]), undefined);
  t.is(refusal([half, half])?.['setting'], 'maxRequestDays');
  t.is(refusal([ar('2025-02-01', '2025-01-01', 'daily')]), undefined, 'a reversed range is the resolver’s error');
  const summary = (sites: string[]): RootField => ({ name: 'accountingSummary', args: { filter: { sites } } });
  t.is(refusal([summary(['a', 'b', 'c'])]), undefined);
  t.deepEqual(refusal([summary(['a', 'b', 'c', 'd'])]), {
    code: 'LIMIT_EXCEEDED',
    argument: 'filter.sites',
    limit: 3,
    setting: 'maxFilterValues',
  });
});

test('token buckets: a burst, then the sustained rate; Retry-After in whole seconds; per token', (t) => {
  const buckets = new TokenBuckets({ perSecond: 2, burst: 3 });
  for (let i = 0; i < 3; i++) t.true(buckets.take('a', 0).admitted);
  t.deepEqual(buckets.take('a', 0), { admitted: false, retryAfterSeconds: 1 });
  t.true(buckets.take('b', 0).admitted, 'another token has its own bucket');
  t.true(buckets.take('a', 500).admitted, 'half a second refills one request at 2/s');
  t.false(buckets.take('a', 500).admitted);
  t.true(buckets.take('a', 10_000).admitted);
  const slow = new TokenBuckets({ perSecond: 0.1, burst: 1 });
  t.true(slow.take('a', 0).admitted);
  t.deepEqual(slow.take('a', 0), { admitted: false, retryAfterSeconds: 10 });
  t.true(new TokenBuckets({ perSecond: 0, burst: 1 }).take('a', 0).admitted, '0 turns limiting off');
});

test('work queue: lets the event loop turn between slices, and drops the work of an aborted request', async (t) => {
  const queue = new WorkQueue(5);
  const controller = new AbortController();
  let ran = 0;
  let turnsMeanwhile = 0;
  let running = true;
  void (async () => {
    while (running) {
      await turn();
      turnsMeanwhile++;
    }
  })();
  const busy = () => {
    const until = performance.now() + 2;
    while (performance.now() < until);
    return ++ran;
  };
  const results = Array.from({ length: 100 }, () => queue.run(controller.signal, busy));
  await results[9];
  controller.abort();
  const settled = await Promise.allSettled(results);
  running = false;
  t.true(turnsMeanwhile >= 3, `the loop turned ${turnsMeanwhile} times while ten 2 ms turns ran`);
  t.true(ran < 20, `${ran} of 100 ran`);
  t.is(settled.filter((r) => r.status === 'rejected').length, 100 - ran);
  t.is(queue.pending, 0);
  const failed = await queue
    .run(new AbortController().signal, () => {
      throw new Error('boom');
    })
    .catch((e: Error) => e.message);
  t.is(failed, 'boom');
});

function configFile(t: { teardown(fn: () => void): void }, settings: Record<string, unknown>): string {
  const { dir, cleanup } = tempDir('fedledger-config-');
  t.teardown(cleanup);
  const file = path.join(dir, 'serve.json');
  writeFileSync(file, JSON.stringify(settings));
  return file;
}

test('request limits are settings with defaults, some also from the environment', (t) => {
  const defaults = loadServeConfig({}, {});
  t.like(defaults, {
    maxTokens: 2000,
    maxAliases: 20,
    maxDailySpanDays: 366,
    maxSpanDays: 3660,
    maxFilterValues: 1000,
    maxRows: 10_000,
    maxConcurrentQueries: 64,
    rateLimitPerSecond: 20,
    rateLimitBurst: 100,
  });
  const env = loadServeConfig({}, { FEDLEDGER_MAX_ROWS: '7', FEDLEDGER_RATE_LIMIT: '0', FEDLEDGER_RATE_BURST: '5' });
  t.like(env, { maxRows: 7, rateLimitPerSecond: 0, rateLimitBurst: 5 });
  const tooMany = t.throws(() => loadServeConfig({ config: configFile(t, { maxFilterValues: 7000 }) }, {}));
  t.regex(tooMany.message, /maxFilterValues/);
});

/**
 * Per-token rate limits: a token bucket per token id, refilled continuously.
 * Pure apart from the clock, which the caller passes in (milliseconds).
 */
export interface RateLimit {
  /** Sustained requests per second; 0 turns limiting off. */
  perSecond: number;
  /** Requests a token may make at once after being idle. */
  burst: number;
}

export type Admission = { admitted: true } | { admitted: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly limit: RateLimit) {}

  /** Takes one request from `id`'s bucket, or says in how many whole seconds one will be there. */
  take(id: string, nowMs: number): Admission {
    const { perSecond, burst } = this.limit;
    if (perSecond <= 0) return { admitted: true };
    const bucket = this.buckets.get(id) ?? { tokens: burst, at: nowMs };
    const tokens = Math.min(burst, bucket.tokens + ((nowMs - bucket.at) / 1000) * perSecond);
    if (tokens >= 1) {
      this.buckets.set(id, { tokens: tokens - 1, at: nowMs });
      return { admitted: true };
    }
    this.buckets.set(id, { tokens, at: nowMs });
    return { admitted: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / perSecond)) };
  }
}

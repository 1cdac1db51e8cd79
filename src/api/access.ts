/**
 * Who is calling and whether they may call now: the bearer token, verified
 * against the token store, then the token's rate limit (429 with Retry-After
 * once it has spent its bucket). One decision for /graphql (yoga's
 * onRequest, src/api/plugins/auth.ts) and the push endpoints (src/api/push.ts).
 */
import type { ServeConfig } from './config.ts';
import { type Refusal, refusal } from './http-errors.ts';
import { TokenBuckets } from './rate-limit.ts';
import type { Principal, TokenStore } from './tokens.ts';

/** Admitted, or refused (a rate-limited caller is still known, for the request log). */
export type Admission = { principal: Principal; refused?: undefined } | { refused: Refusal; principal?: Principal };

export class Access {
  private readonly buckets: TokenBuckets;

  constructor(
    private readonly tokens: TokenStore,
    private readonly config: ServeConfig,
  ) {
    this.buckets = new TokenBuckets({ perSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst });
  }

  admit(authorization: string | null | undefined): Admission {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    const principal = match ? this.tokens.verify(match[1]!) : undefined;
    if (!principal)
      return {
        refused: refusal(401, 'UNAUTHENTICATED', match ? 'invalid or revoked token' : 'a bearer token is required', {
          'WWW-Authenticate': 'Bearer',
        }),
      };
    const admission = this.buckets.take(principal.tokenId, Date.now());
    if (admission.admitted) return { principal };
    const { rateLimitPerSecond, rateLimitBurst } = this.config;
    return {
      principal,
      refused: refusal(
        429,
        'RATE_LIMITED',
        `this token may make ${rateLimitPerSecond} requests per second (bursts of ${rateLimitBurst})`,
        { 'Retry-After': String(admission.retryAfterSeconds) },
      ),
    };
  }
}

/**
 * Keystone v3 sessions: password or application-credential auth. A token is
 * reused until shortly before it expires; a 401 from any service drops it and
 * the call is retried once with a fresh one (tokens can be revoked early).
 */
import { z } from 'zod';
import { FedledgerError } from '../../errors.ts';
import type { OpenStackSource } from '../config.ts';
import { expectOk, httpRequest, jsonBody, type HttpPolicy, type HttpResponse } from '../http.ts';
import type { Secret } from '../secrets.ts';

const catalogSchema = z.array(
  z.object({
    type: z.string(),
    endpoints: z.array(
      z.object({
        url: z.string(),
        interface: z.string(),
        region: z.string().nullish(),
        region_id: z.string().nullish(),
      }),
    ),
  }),
);

const tokenBodySchema = z.object({
  token: z.object({
    expires_at: z.string(),
    project: z.object({ id: z.string(), name: z.string().optional() }).optional(),
    catalog: catalogSchema.default([]),
  }),
});

export interface CatalogEndpoint {
  type: string;
  url: string;
  interface: string;
  region: string | null;
}

export interface Token {
  value: string;
  expiresAt: number;
  projectId: string | null;
  catalog: CatalogEndpoint[];
}

/** Renew a little before expiry so a token does not lapse in the middle of a request. */
const EXPIRY_MARGIN_MS = 60_000;

export class Keystone {
  private readonly tokens = new Map<string, Token>();
  /** How many tokens were issued (for the run summary and tests). */
  issued = 0;

  constructor(
    private readonly source: OpenStackSource,
    private readonly secret: Secret,
    private readonly policy: HttpPolicy,
    private readonly now: () => Date,
  ) {}

  get baseUrl(): string {
    return this.source.keystoneUrl.replace(/\/+$/, '');
  }

  /** A token for `projectId` (application credentials carry their own fixed scope). */
  async token(projectId: string | null): Promise<Token> {
    const key = this.scopeKey(projectId);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt - EXPIRY_MARGIN_MS > this.now().getTime()) return cached;
    const fresh = await this.authenticate(projectId);
    this.tokens.set(key, fresh);
    return fresh;
  }

  /** Runs `call` with a token; on 401 re-authenticates once and runs it again. */
  async withToken(projectId: string | null, call: (token: Token) => Promise<HttpResponse>): Promise<HttpResponse> {
    const response = await call(await this.token(projectId));
    if (response.status !== 401) return response;
    this.tokens.delete(this.scopeKey(projectId));
    return call(await this.token(projectId));
  }

  private scopeKey(projectId: string | null): string {
    return this.source.auth.method === 'application_credential'
      ? '(application credential)'
      : (projectId ?? '(unscoped)');
  }

  private async authenticate(projectId: string | null): Promise<Token> {
    const auth = this.source.auth;
    const identity =
      auth.method === 'password'
        ? {
            methods: ['password'],
            password: {
              user: { name: auth.username, domain: { name: auth.userDomain }, password: this.secret.reveal() },
            },
          }
        : {
            methods: ['application_credential'],
            application_credential: { id: auth.id, secret: this.secret.reveal() },
          };
    const scope = auth.method === 'password' && projectId ? { project: { id: projectId } } : undefined;
    const url = `${this.baseUrl}/auth/tokens`;
    const response = await httpRequest(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ auth: { identity, ...(scope ? { scope } : {}) } }),
      },
      this.policy,
    );
    if (response.status === 401)
      throw new FedledgerError('KEYSTONE_AUTH_FAILED', `${this.source.name}: Keystone refused the credentials`, {
        message: url,
      });
    expectOk(url, response);
    const value = response.headers.get('x-subject-token');
    if (!value)
      throw new FedledgerError('KEYSTONE_NO_TOKEN', `${this.source.name}: Keystone answered without X-Subject-Token`, {
        message: url,
      });
    const parsed = tokenBodySchema.safeParse(jsonBody(url, response));
    if (!parsed.success)
      throw new FedledgerError(
        'KEYSTONE_BAD_TOKEN',
        `${this.source.name}: unexpected token body: ${parsed.error.issues[0]!.message}`,
        { message: url },
      );
    const body = parsed.data.token;
    this.issued++;
    return {
      value,
      expiresAt: Date.parse(body.expires_at),
      projectId: body.project?.id ?? null,
      catalog: body.catalog.flatMap((service) =>
        service.endpoints.map((e) => ({
          type: service.type,
          url: e.url,
          interface: e.interface,
          region: e.region ?? e.region_id ?? null,
        })),
      ),
    };
  }
}

/** The URL of a service in a token's catalog, honouring the configured interface and region. */
export function serviceUrl(
  token: Token,
  types: readonly string[],
  iface: string,
  region: string | null,
): string | null {
  for (const type of types) {
    const match = token.catalog.find(
      (e) => e.type === type && e.interface === iface && (region === null || e.region === region),
    );
    if (match) return match.url.replace(/\/+$/, '');
  }
  return null;
}

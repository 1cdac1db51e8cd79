/**
 * The ARGO Messaging Service's REST API, the three calls fedledger makes:
 * `subscriptions/{s}:pull`, `subscriptions/{s}:acknowledge` and
 * `topics/{t}:publish` under `/v1/projects/{p}`. Payloads are base64 in
 * `data`; answers are checked at this boundary, and AMS's error body
 * (`{"error":{"code","message","status"}}`) becomes an AmsError.
 */
import { z } from 'zod';
import { FedledgerError } from '../../errors.ts';
import { HttpError, httpRequest, redactUrl, type HttpPolicy } from '../../collectors/http.ts';

export interface AmsEndpoint {
  /** The service's base URL, e.g. https://msg.argo.grnet.gr. */
  url: string;
  project: string;
  token: string;
  /** How the token goes: the `x-api-key` header (AMS's documented way) or the older `?key=` query parameter. */
  auth: 'header' | 'query';
}

/** A message as pulled: its AMS id, its ack id, its payload decoded from base64, its attributes. */
export interface PulledMessage {
  ackId: string;
  messageId: string;
  publishTime: string | null;
  attributes: Record<string, string>;
  data: Buffer;
}

export interface OutgoingMessage {
  data: string | Buffer;
  attributes?: Record<string, string>;
}

export class AmsError extends FedledgerError {
  readonly url: string;

  constructor(
    url: string,
    readonly status: number,
    readonly amsStatus: string | null,
    detail: string,
  ) {
    super(amsStatus === 'TIMEOUT' ? 'AMS_ACK_TIMEOUT' : `AMS_${status}`, `AMS ${redactUrl(url)}: ${detail}`, {
      message: redactUrl(url),
    });
    // Logged with the error: without the query, where `auth: query` puts the token.
    this.url = redactUrl(url);
  }
}

/** AMS serves attributes as an object; its documentation shows a list of {key, value}: both are read. */
const attributesSchema = z
  .union([z.record(z.string(), z.string()), z.array(z.object({ key: z.string(), value: z.string() }))])
  .optional()
  .transform((a) => (Array.isArray(a) ? Object.fromEntries(a.map((kv) => [kv.key, kv.value])) : (a ?? {})));

const pullSchema = z.object({
  receivedMessages: z
    .array(
      z.object({
        ackId: z.string().min(1),
        message: z.object({
          messageId: z.string().min(1),
          data: z.string(),
          attributes: attributesSchema,
          publishTime: z.string().optional(),
        }),
      }),
    )
    .optional(),
});

const publishSchema = z.object({ messageIds: z.array(z.string()) });
const errorSchema = z.object({
  error: z.object({ code: z.number().optional(), message: z.string().optional(), status: z.string().optional() }),
});

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const DEFAULT_POLICY: HttpPolicy = { timeoutMs: 30_000, retries: 2, backoffMs: 1000 };

export class AmsClient {
  constructor(
    private readonly endpoint: AmsEndpoint,
    private readonly policy: HttpPolicy = DEFAULT_POLICY,
  ) {}

  private url(resource: string): string {
    const base = this.endpoint.url.replace(/\/+$/, '');
    const target = `${base}/v1/projects/${encodeURIComponent(this.endpoint.project)}/${resource}`;
    return this.endpoint.auth === 'query' ? `${target}?key=${encodeURIComponent(this.endpoint.token)}` : target;
  }

  private async post<T>(resource: string, body: unknown, schema: z.ZodType<T>): Promise<T> {
    const url = this.url(resource);
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.endpoint.auth === 'header') headers['x-api-key'] = this.endpoint.token;
    let response;
    try {
      response = await httpRequest(url, { method: 'POST', headers, body: JSON.stringify(body) }, this.policy);
    } catch (error) {
      // The error's url (which logs show) would hold the token with `auth: query`.
      if (!(error instanceof HttpError)) throw error;
      const redacted = redactUrl(url);
      throw new HttpError(redacted, error.status, error.message.slice(redacted.length + 2));
    }
    let parsed: unknown;
    try {
      parsed = response.text.trim() === '' ? {} : JSON.parse(response.text);
    } catch {
      throw new AmsError(url, response.status, null, `HTTP ${response.status}, and the body is not JSON`);
    }
    if (response.status !== 200) {
      const error = errorSchema.safeParse(parsed);
      const e = error.success ? error.data.error : undefined;
      throw new AmsError(
        url,
        response.status,
        e?.status ?? null,
        `HTTP ${response.status} ${e?.status ?? ''} ${e?.message ?? ''}`.trim(),
      );
    }
    const result = schema.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      throw new AmsError(url, 200, null, `unexpected answer: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    return result.data;
  }

  /** Up to `max` messages; an empty list when there are none (the request asks AMS not to wait). */
  async pull(subscription: string, max: number): Promise<PulledMessage[]> {
    const answer = await this.post(
      `subscriptions/${encodeURIComponent(subscription)}:pull`,
      // AMS's documentation sends both as strings.
      { maxMessages: String(max), returnImmediately: 'true' },
      pullSchema,
    );
    return (answer.receivedMessages ?? []).map(({ ackId, message }) => {
      if (!BASE64.test(message.data))
        throw new AmsError(
          this.url(`subscriptions/${subscription}:pull`),
          200,
          null,
          `message ${message.messageId}: data is not base64`,
        );
      return {
        ackId,
        messageId: message.messageId,
        publishTime: message.publishTime ?? null,
        attributes: message.attributes,
        data: Buffer.from(message.data, 'base64'),
      };
    });
  }

  /** Acknowledges pulled messages (AMS moves the subscription's offset past the highest one). */
  async acknowledge(subscription: string, ackIds: readonly string[]): Promise<void> {
    if (ackIds.length === 0) return;
    await this.post(`subscriptions/${encodeURIComponent(subscription)}:acknowledge`, { ackIds }, z.unknown());
  }

  /** Publishes messages to a topic; returns their AMS ids, in order. */
  async publish(topic: string, messages: readonly OutgoingMessage[]): Promise<string[]> {
    const body = {
      messages: messages.map((m) => ({
        attributes: m.attributes ?? {},
        data: (typeof m.data === 'string' ? Buffer.from(m.data, 'utf8') : m.data).toString('base64'),
      })),
    };
    const answer = await this.post(`topics/${encodeURIComponent(topic)}:publish`, body, publishSchema);
    if (answer.messageIds.length !== messages.length)
      throw new AmsError(
        this.url(`topics/${topic}:publish`),
        200,
        null,
        `published ${messages.length} message(s) but got ${answer.messageIds.length} id(s)`,
      );
    return answer.messageIds;
  }
}

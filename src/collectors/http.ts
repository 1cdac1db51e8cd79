/**
 * The collectors' one HTTP path: Node's fetch with a per-request timeout and
 * retries with exponential backoff for what is worth retrying (network
 * errors, timeouts, 429 and 5xx). Error messages name the URL without its
 * query string, and never carry credentials.
 */
import { FedledgerError } from '../errors.ts';

export interface HttpPolicy {
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  /** Injectable so tests do not wait. */
  sleep?: (ms: number) => Promise<void>;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
}

export class HttpError extends FedledgerError {
  constructor(
    readonly url: string,
    readonly status: number | null,
    detail: string,
  ) {
    super(status === null ? 'HTTP_UNREACHABLE' : `HTTP_${status}`, `${redactUrl(url)}: ${detail}`, {
      message: redactUrl(url),
    });
  }
}

/** The URL without query or credentials, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function retryable(status: number): boolean {
  return status === 429 || status >= 500;
}

/** One request, retried per `policy`. Non-retryable statuses are returned, not thrown. */
export async function httpRequest(url: string, init: RequestInit, policy: HttpPolicy): Promise<HttpResponse> {
  const sleep = policy.sleep ?? defaultSleep;
  let last: HttpError | undefined;
  for (let attempt = 0; attempt <= policy.retries; attempt++) {
    if (attempt > 0) await sleep(policy.backoffMs * 2 ** (attempt - 1));
    let response: Response;
    try {
      response = await fetch(url, { ...init, signal: AbortSignal.timeout(policy.timeoutMs) });
    } catch (error) {
      const reason =
        (error as Error).name === 'TimeoutError' ? `no answer within ${policy.timeoutMs} ms` : describeCause(error);
      last = new HttpError(url, null, reason);
      continue;
    }
    const text = await response.text();
    if (retryable(response.status)) {
      last = new HttpError(url, response.status, `HTTP ${response.status} ${snippet(text)}`);
      continue;
    }
    return { status: response.status, headers: response.headers, text };
  }
  throw last!;
}

function describeCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

/** Parses a JSON body, or fails naming the URL. */
export function jsonBody(url: string, response: HttpResponse): unknown {
  try {
    return JSON.parse(response.text);
  } catch {
    throw new HttpError(url, response.status, `body is not JSON: ${snippet(response.text)}`);
  }
}

/** Throws unless the status is 2xx. */
export function expectOk(url: string, response: HttpResponse): HttpResponse {
  if (response.status < 200 || response.status > 299)
    throw new HttpError(url, response.status, `HTTP ${response.status} ${snippet(response.text)}`);
  return response;
}

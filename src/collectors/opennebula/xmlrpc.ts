/**
 * A minimal XML-RPC client for oned: string and int parameters out, the
 * `[success, body, errorCode]` array back. oned's body is itself an XML
 * document, escaped inside the string; callers parse it with `parseOneXml`.
 */
import { XMLParser } from 'fast-xml-parser';
import { FedledgerError } from '../../errors.ts';
import { expectOk, httpRequest, type HttpPolicy } from '../http.ts';
import type { Secret } from '../secrets.ts';

export type RpcParam = string | number | Secret;

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function methodCall(method: string, params: readonly RpcParam[]): string {
  const values = params.map((p) =>
    typeof p === 'number'
      ? `<param><value><int>${Math.trunc(p)}</int></value></param>`
      : `<param><value><string>${escapeXml(typeof p === 'string' ? p : p.reveal())}</string></value></param>`,
  );
  return `<?xml version="1.0"?>\n<methodCall><methodName>${method}</methodName><params>${values.join('')}</params></methodCall>`;
}

const envelopeParser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  isArray: (name) => name === 'value',
});

/** Element names that repeat in oned documents. */
const REPEATED = new Set(['HISTORY', 'VM', 'DISK', 'NIC']);
const bodyParser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  isArray: (name) => REPEATED.has(name),
});

export function parseOneXml(xml: string): Record<string, unknown> {
  return bodyParser.parse(xml) as Record<string, unknown>;
}

/** The response body string, or a typed error with oned's message and code. */
export function parseMethodResponse(xml: string, method: string): string {
  const doc = envelopeParser.parse(xml) as {
    methodResponse?: { fault?: unknown; params?: { param?: { value?: unknown[] } } };
  };
  const response = doc.methodResponse;
  if (!response)
    throw new FedledgerError('ONE_BAD_RESPONSE', `${method}: not an XML-RPC response`, { message: method });
  if (response.fault !== undefined)
    throw new FedledgerError('ONE_FAULT', `${method}: XML-RPC fault`, { message: method });
  const array = (response.params?.param?.value?.[0] as { array?: { data?: { value?: unknown[] } } } | undefined)?.array
    ?.data?.value;
  if (!array || array.length < 2)
    throw new FedledgerError('ONE_BAD_RESPONSE', `${method}: expected [success, body, code]`, { message: method });
  const scalar = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const typed = Object.values(v as Record<string, unknown>)[0];
    return typed === undefined || typed === null ? '' : String(typed);
  };
  const ok = scalar(array[0]).trim();
  const body = scalar(array[1]);
  if (ok !== '1' && ok !== 'true') {
    const code = array[2] === undefined ? '' : scalar(array[2]).trim();
    throw new FedledgerError(
      code === '256' ? 'ONE_AUTHENTICATION' : 'ONE_ERROR',
      `${method}: ${body.trim()} (code ${code})`,
      { message: method },
    );
  }
  return body;
}

export class OneRpc {
  constructor(
    private readonly url: string,
    private readonly session: Secret,
    private readonly policy: HttpPolicy,
  ) {}

  async call(method: string, ...params: RpcParam[]): Promise<string> {
    const response = await httpRequest(
      this.url,
      { method: 'POST', headers: { 'content-type': 'text/xml' }, body: methodCall(method, [this.session, ...params]) },
      this.policy,
    );
    return parseMethodResponse(expectOk(this.url, response).text, method);
  }
}

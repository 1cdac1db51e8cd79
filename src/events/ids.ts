/**
 * Deterministic event ids: the same fact always gets the same UUID, so a
 * re-sent or retried append is recognised as a duplicate by the event store
 * (and by projections, which key applied facts by event id).
 */
import { createHash } from 'node:crypto';

/** Stable JSON: object keys sorted, so equal content hashes equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** A name-based UUID (RFC 9562 version 5 layout, SHA-256 based) from the given parts. */
export function deterministicUuid(...parts: unknown[]): string {
  const hex = createHash('sha256').update(canonicalJson(parts)).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

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

function format(hex: string, version: string): string {
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${version}${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * A name-based UUID from the given parts. When the fact has a time of its own
 * (`factTimeMs`, derived from its content, never from when it was received),
 * the id takes the RFC 9562 version 7 layout with that time in front: facts
 * arrive roughly in time order, so the store's id index grows at its end
 * instead of at random pages, which is what keeps bulk appends fast.
 * Without one it is a version-5-style SHA-256 name UUID.
 */
export function deterministicUuid(parts: unknown, factTimeMs?: number): string {
  const hash = createHash('sha256').update(canonicalJson(parts)).digest('hex');
  if (factTimeMs === undefined || !Number.isFinite(factTimeMs) || factTimeMs < 0 || factTimeMs >= 2 ** 48) {
    return format(hash, '5');
  }
  return format(Math.floor(factTimeMs).toString(16).padStart(12, '0') + hash.slice(12), '7');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

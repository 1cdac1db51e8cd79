/**
 * Deterministic event ids: the same fact always gets the same UUID, so a
 * re-sent or retried append is recognised as a duplicate by the event store
 * (and by projections, which key applied facts by event id).
 */
import { hash } from 'node:crypto';

/** Stable JSON: object keys sorted, so equal content hashes equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    // Concatenated, not mapped and joined: an id's parts are hashed millions of times (bench:accounting).
    let text = '[';
    for (let i = 0; i < value.length; i++) text += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return `${text}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The RFC 9562 variant digit, from the hex digit in its place. */
const variant = (hex: string) => ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);

function format(hex: string, version: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${version}${hex.slice(13, 16)}-${variant(hex)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Where an id sorts in the store's id index: by the fact's own time, optionally grouped by the fact's aggregate. */
export interface IdOrder {
  /** The time the fact is about (ms), from its content only, never from when it was received. */
  timeMs: number;
  /** The aggregate whose facts should sort together (an endpoint for probe results). */
  place?: string;
}

/**
 * A name-based UUID from the given parts. Without an order it is a
 * version-5-style SHA-256 name UUID. With a time only, it takes the RFC 9562
 * version 7 layout with that time in front: facts that arrive in time order
 * (usage records: every VM each run) append at the end of the store's id
 * index. With a place too, it is a version 8 UUID: two bytes of the place's
 * hash, then the time in seconds, then the hash: facts that arrive place by
 * place (a monitoring box's export, endpoint after endpoint) append at one
 * point per place instead of at random pages all over the index, which at
 * millions of events cost more than everything else in the append together
 * (see docs/availability.md).
 */
export function deterministicUuid(parts: unknown, order?: IdOrder): string {
  return uuidOfText(canonicalJson(parts), order);
}

/** The same from the text that names the fact, where its producer has one that is as stable (see codec.ts). */
export function uuidOfText(identity: string, order?: IdOrder): string {
  const digest = sha256Hex(identity);
  const ms = order?.timeMs;
  if (ms === undefined || !Number.isFinite(ms) || ms < 0 || ms >= 2 ** 48) return format(digest, '5');
  if (order?.place === undefined) {
    // format() of the time and the digest's rest, without joining them first (an id per usage record).
    const time = Math.floor(ms).toString(16).padStart(12, '0');
    return `${time.slice(0, 8)}-${time.slice(8)}-7${digest.slice(13, 16)}-${variant(digest)}${digest.slice(17, 20)}-${digest.slice(20, 32)}`;
  }
  const seconds = Math.min(Math.floor(ms / 1000), 2 ** 32 - 1);
  return format(placePrefix(order.place) + seconds.toString(16).padStart(8, '0') + digest.slice(12), '8');
}

/** Places repeat for every fact of an aggregate; remembering their prefixes saves a hash per event. */
const placePrefixes = new Map<string, string>();
function placePrefix(place: string): string {
  let prefix = placePrefixes.get(place);
  if (prefix === undefined) {
    if (placePrefixes.size >= 100_000) placePrefixes.clear();
    prefix = sha256Hex(place).slice(0, 4);
    placePrefixes.set(place, prefix);
  }
  return prefix;
}

/** One-shot hashing: a third of the cost of a Hash object for the short texts of ids (bench:accounting). */
export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}

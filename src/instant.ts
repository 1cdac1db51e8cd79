/**
 * The one form fedledger shows instants in: ISO 8601, UTC, to the second, `2026-10-01T06:00:00Z`. Stored values
 * keep what they have (milliseconds of a reception time, say); output through the API and in reports uses this.
 */
export function isoInstant(at: Date | number | string): string {
  const ms = typeof at === 'number' ? at : typeof at === 'string' ? Date.parse(at) : at.getTime();
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** An instant given in epoch seconds (null stays null). */
export const isoSeconds = <T extends number | null>(epochSeconds: T): T extends number ? string : string | null =>
  (epochSeconds === null ? null : isoInstant(epochSeconds * 1000)) as T extends number ? string : string | null;

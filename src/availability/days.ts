/** UTC days as whole-day numbers since the epoch and as `YYYY-MM-DD`. */
import { DateTime } from 'luxon';
import { UserError } from '../errors.ts';

export const DAY = 86_400;

export const dayOf = (epochSeconds: number) => Math.floor(epochSeconds / DAY);

const names = new Map<number, string>();
export function dayName(day: number): string {
  let n = names.get(day);
  if (n === undefined) {
    n = DateTime.fromSeconds(day * DAY, { zone: 'utc' }).toISODate()!;
    names.set(day, n);
  }
  return n;
}

export function parseDay(text: string, field = 'date'): number {
  const d = DateTime.fromISO(text, { zone: 'utc' });
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || !d.isValid)
    throw new UserError('INVALID_DATE', `${field} must be a date YYYY-MM-DD, got ${JSON.stringify(text)}`, { field });
  return dayOf(d.toSeconds());
}

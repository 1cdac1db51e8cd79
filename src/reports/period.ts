/**
 * Report periods: a UTC calendar month (`2026-10`) or quarter (`2026-Q3`),
 * with the arithmetic the report and its schedule need. All of it is luxon
 * calendar arithmetic in UTC.
 */
import { DateTime } from 'luxon';
import { UserError } from '../errors.ts';

export type PeriodKind = 'month' | 'quarter';

export interface Period {
  kind: PeriodKind;
  /** `2026-10` or `2026-Q3`. */
  name: string;
  /** First instant of the period (UTC). */
  start: DateTime;
  /** First instant after the period (exclusive end). */
  end: DateTime;
}

const utc = { zone: 'utc' } as const;

function make(kind: PeriodKind, start: DateTime): Period {
  const end = start.plus(kind === 'month' ? { months: 1 } : { quarters: 1 });
  const name = kind === 'month' ? start.toFormat('yyyy-MM') : `${start.year}-Q${start.quarter}`;
  return { kind, name, start, end };
}

/** Parses `YYYY-MM` or `YYYY-Qn`. */
export function parsePeriod(text: string): Period {
  const quarter = /^(\d{4})-Q([1-4])$/.exec(text);
  if (quarter)
    return make(
      'quarter',
      DateTime.fromObject({ year: Number(quarter[1]), month: 1 }, utc).plus({ quarters: Number(quarter[2]) - 1 }),
    );
  const month = /^\d{4}-\d{2}$/.test(text) ? DateTime.fromFormat(text, 'yyyy-MM', utc) : undefined;
  if (month?.isValid) return make('month', month);
  throw new UserError(
    'INVALID_PERIOD',
    `period must be YYYY-MM or YYYY-Qn (e.g. 2026-10, 2026-Q3), got ${JSON.stringify(text)}`,
    { field: 'period' },
  );
}

/** The period of the given kind that contains an instant. */
export function periodContaining(instant: Date, kind: PeriodKind): Period {
  const t = DateTime.fromJSDate(instant, utc);
  return make(kind, t.startOf(kind));
}

export function previousPeriod(p: Period): Period {
  return make(p.kind, p.start.minus(p.kind === 'month' ? { months: 1 } : { quarters: 1 }));
}

/** The months of a period, oldest first, as `YYYY-MM`. */
export function monthsOf(p: Period): string[] {
  const out: string[] = [];
  for (let m = p.start; m < p.end; m = m.plus({ months: 1 })) out.push(m.toFormat('yyyy-MM'));
  return out;
}

/** The `count` months ending with the period's last month, oldest first. */
export function trailingMonths(p: Period, count: number): string[] {
  const last = p.end.minus({ months: 1 });
  return Array.from({ length: count }, (_, i) => last.minus({ months: count - 1 - i }).toFormat('yyyy-MM'));
}

/** The period a scheduled run at `instant` reports on: the last complete one of its kind. */
export function scheduledPeriod(instant: Date, kind: PeriodKind): Period {
  return previousPeriod(periodContaining(instant, kind));
}

/** First and last day of the period, inclusive, as `YYYY-MM-DD`. */
export function periodDays(p: Period): { from: string; to: string } {
  return { from: p.start.toISODate()!, to: p.end.minus({ days: 1 }).toISODate()! };
}

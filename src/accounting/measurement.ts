/**
 * When a record was measured and which accounting month it belongs to
 * (DOMAIN §2 "Measurement time"), plus the record-level data-quality rules.
 */
import { DateTime } from 'luxon';
import type { CloudUsageRecord } from '../events/catalogue.ts';

/** An accounting month as the integer yyyymm (sorts and compares like the month itself). */
export type YearMonth = number;

/** How far after its receipt a measurement may lie before it counts as "in the future" (senders' clocks drift). */
export const FUTURE_TOLERANCE_SECONDS = 600;

export type RecordFlagKind =
  'completed_without_end' | 'end_before_start' | 'future_measurement' | 'no_measurement_time';

export interface RecordFlag {
  kind: RecordFlagKind;
  detail: string;
}

/**
 * EndTime if completed; else RecordCreateTime; else StartTime + SuspendDuration + WallDuration
 * (a null duration counts as 0). Null when there is nothing to measure from.
 */
export function measurementTime(r: CloudUsageRecord): number | null {
  if (r.status === 'completed' && r.endTime !== null) return r.endTime;
  if (r.recordCreateTime !== null) return r.recordCreateTime;
  if (r.startTime === null) return null;
  return r.startTime + (r.suspendDuration ?? 0) + (r.wallDuration ?? 0);
}

const SECONDS_PER_DAY = 86_400;
const monthOfDay = new Map<number, YearMonth>();

/** The UTC calendar month of an instant. Cached per epoch day (POSIX days are exactly 86,400 s): luxon is hot here. */
export function yearMonthOf(epochSeconds: number): YearMonth {
  const day = Math.floor(epochSeconds / SECONDS_PER_DAY);
  let ym = monthOfDay.get(day);
  if (ym === undefined) {
    const t = DateTime.fromSeconds(day * SECONDS_PER_DAY, { zone: 'utc' });
    ym = t.year * 100 + t.month;
    monthOfDay.set(day, ym);
  }
  return ym;
}

export function splitYearMonth(ym: YearMonth): { year: number; month: number } {
  return { year: Math.floor(ym / 100), month: ym % 100 };
}

/** Parses `YYYY-MM` (as given on the command line) into a YearMonth. */
export function parseYearMonth(text: string): YearMonth | null {
  const t = DateTime.fromFormat(text, 'yyyy-MM', { zone: 'utc' });
  return t.isValid ? t.year * 100 + t.month : null;
}

export function formatYearMonth(ym: YearMonth): string {
  const { year, month } = splitYearMonth(ym);
  return DateTime.utc(year, month).toFormat('yyyy-MM');
}

/** Data-quality warnings about one record; `receivedAt` is epoch seconds of its receipt. */
export function recordFlags(r: CloudUsageRecord, receivedAt: number): RecordFlag[] {
  const flags: RecordFlag[] = [];
  if (r.status === 'completed' && r.endTime === null)
    flags.push({ kind: 'completed_without_end', detail: 'status completed without EndTime: measured as a running VM' });
  if (r.startTime !== null && r.endTime !== null && r.endTime < r.startTime)
    flags.push({ kind: 'end_before_start', detail: `EndTime ${r.endTime} is before StartTime ${r.startTime}` });
  const measured = measurementTime(r);
  if (measured === null)
    flags.push({
      kind: 'no_measurement_time',
      detail: 'no EndTime, RecordCreateTime or StartTime: cannot be placed in a month',
    });
  else if (measured > receivedAt + FUTURE_TOLERANCE_SECONDS)
    flags.push({ kind: 'future_measurement', detail: `measured at ${measured}, after its receipt at ${receivedAt}` });
  return flags;
}

import test from 'ava';
import { UserError } from '../../src/errors.ts';
import {
  monthsOf,
  parsePeriod,
  periodDays,
  previousPeriod,
  scheduledPeriod,
  trailingMonths,
} from '../../src/reports/period.ts';

test('months and quarters parse into UTC calendar ranges', (t) => {
  const m = parsePeriod('2026-10');
  t.like(m, { kind: 'month', name: '2026-10' });
  t.is(m.start.toISO(), '2026-10-01T00:00:00.000Z');
  t.is(m.end.toISO(), '2026-11-01T00:00:00.000Z');
  const q = parsePeriod('2026-Q3');
  t.like(q, { kind: 'quarter', name: '2026-Q3' });
  t.deepEqual(monthsOf(q), ['2026-07', '2026-08', '2026-09']);
  t.deepEqual(periodDays(q), { from: '2026-07-01', to: '2026-09-30' });
  t.deepEqual(periodDays(parsePeriod('2028-02')), { from: '2028-02-01', to: '2028-02-29' });
});

test('bad periods are user errors naming the field', (t) => {
  for (const text of ['2026-13', '2026-Q5', '2026-1', '26-10', '2026-10-01', '']) {
    const e = t.throws(() => parsePeriod(text), { instanceOf: UserError });
    t.is(e.code, 'INVALID_PERIOD');
    t.deepEqual(e.location, { field: 'period' });
  }
});

test('previous periods cross year boundaries', (t) => {
  t.is(previousPeriod(parsePeriod('2027-01')).name, '2026-12');
  t.is(previousPeriod(parsePeriod('2027-Q1')).name, '2026-Q4');
  t.deepEqual(trailingMonths(parsePeriod('2027-Q1'), 4), ['2026-12', '2027-01', '2027-02', '2027-03']);
});

test('a scheduled run reports on the last complete period of its kind', (t) => {
  t.is(scheduledPeriod(new Date('2026-11-02T06:00:00Z'), 'month').name, '2026-10');
  t.is(scheduledPeriod(new Date('2026-10-02T06:00:00Z'), 'quarter').name, '2026-Q3');
  t.is(scheduledPeriod(new Date('2027-01-02T06:00:00Z'), 'quarter').name, '2026-Q4');
  t.is(scheduledPeriod(new Date('2027-01-01T00:00:00Z'), 'month').name, '2026-12');
});

import { Option } from 'commander';
import { UserError } from '../../errors.ts';
import type { ArRow } from '../../../projections/availability/queries.ts';
import { parentCommand, type RegisterCommand } from './index.ts';

const COLUMNS = [
  'date',
  'level',
  'site',
  'function',
  'service',
  'hostname',
  'group',
  'availability',
  'reliability',
  'up',
  'unknown',
  'down',
] as const;

/** CSV headers say what the figures are: A/R in percent, the time shares as fractions (JSON keeps the API's names). */
const CSV_HEADERS: Partial<Record<(typeof COLUMNS)[number], string>> = {
  availability: 'availabilityPercent',
  reliability: 'reliabilityPercent',
  up: 'upFraction',
  unknown: 'unknownFraction',
  down: 'downFraction',
};

const csvCell = (v: unknown) => {
  if (v === null) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function arExportRows(rows: readonly ArRow[]): Array<Record<(typeof COLUMNS)[number], string | number | null>> {
  return rows.map(
    (r) =>
      Object.fromEntries(COLUMNS.map((c) => [c, r[c]])) as Record<(typeof COLUMNS)[number], string | number | null>,
  );
}

export function arCsv(rows: readonly ArRow[]): string {
  return (
    [
      COLUMNS.map((c) => CSV_HEADERS[c] ?? c).join(','),
      ...arExportRows(rows).map((r) => COLUMNS.map((c) => csvCell(r[c])).join(',')),
    ].join('\n') + '\n'
  );
}

interface ArOptions {
  from: string;
  to: string;
  granularity: 'daily' | 'monthly';
  format: 'json' | 'csv';
  site?: string;
}

export const registerExportAr: RegisterCommand = (program, app) => {
  const exp = parentCommand(program, 'export', 'write reports and data out');
  exp
    .command('ar')
    .description('availability and reliability per endpoint, service, function group, site and group of sites')
    .requiredOption('--from <date>', 'first UTC day, YYYY-MM-DD')
    .requiredOption('--to <date>', 'last UTC day, YYYY-MM-DD')
    .addOption(
      new Option('--granularity <g>', 'one row per day or per month').choices(['daily', 'monthly']).default('daily'),
    )
    .addOption(new Option('--format <f>', 'output format').choices(['json', 'csv']).default('json'))
    .option('--site <name>', "only this site's rows: the site and its function groups, services and endpoints")
    .action(async (o: ArOptions) => {
      const [{ arReport }, { siteKnown }] = await Promise.all([
        import('../../../projections/availability/queries.ts'),
        import('../../../projections/availability/topology.ts'),
      ]);
      const cli = app();
      const runner = (await cli.readModels('availability')).get('availability')!;
      if (o.site !== undefined && !siteKnown(runner.db, o.site))
        throw new UserError('UNKNOWN_SITE', `no site named ${o.site} in the availability data`, { field: 'site' });
      const rows = arReport(runner.db, {
        from: o.from,
        to: o.to,
        granularity: o.granularity,
        now: new Date(),
        ...(o.site === undefined ? {} : { site: o.site }),
      });
      cli.stdout.write(o.format === 'json' ? `${JSON.stringify(arExportRows(rows), null, 2)}\n` : arCsv(rows));
    });
};

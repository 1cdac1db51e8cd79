/**
 * `fedledger export apel-summaries` (APEL summary messages for the EGI
 * portal) and `fedledger export summaries` (the same rows as CSV or JSON).
 */
import { Option } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { YearMonth } from '../../accounting/measurement.ts';
import { UserError } from '../../errors.ts';
import type { SummaryFilter } from '../../../projections/accounting/queries.ts';
import type { CliApp } from '../app.ts';
import { parentCommand, type RegisterCommand } from './index.ts';

interface RangeOptions {
  from?: string;
  to?: string;
  site?: string;
}

/** What the exports run, loaded when they run. */
async function exporting() {
  const [{ parseYearMonth }, render, { querySummaries }] = await Promise.all([
    import('../../accounting/measurement.ts'),
    import('../../accounting/render.ts'),
    import('../../../projections/accounting/queries.ts'),
  ]);
  return { parseYearMonth, querySummaries, ...render };
}
type Exporting = Awaited<ReturnType<typeof exporting>>;

function month({ parseYearMonth }: Exporting, flag: string, text: string | undefined): YearMonth | undefined {
  if (text === undefined) return undefined;
  const ym = parseYearMonth(text);
  if (ym === null) throw new UserError('BAD_MONTH', `${flag} must be a month YYYY-MM, got ${JSON.stringify(text)}`);
  return ym;
}

function filterOf(x: Exporting, options: RangeOptions): SummaryFilter {
  const from = month(x, '--from', options.from);
  const to = month(x, '--to', options.to);
  if (from !== undefined && to !== undefined && from > to)
    throw new UserError('BAD_RANGE', `--from ${options.from} is after --to ${options.to}`);
  return {
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    ...(options.site ? { site: options.site } : {}),
  };
}

async function rows(x: Exporting, cli: CliApp, options: RangeOptions) {
  const filter = filterOf(x, options);
  const db = (await cli.readModels('accounting')).get('accounting')!.db;
  return x.querySummaries(db, filter);
}

export const registerExportAccounting: RegisterCommand = (program, app) => {
  const exporter = parentCommand(program, 'export', 'write read-model figures out');
  exporter
    .command('apel-summaries')
    .description('APEL-cloud-summary-message v0.4 messages (at most 1000 records each) for the months given')
    .option('--from <YYYY-MM>', 'first month (inclusive)')
    .option('--to <YYYY-MM>', 'last month (inclusive)')
    .option('--site <site>', 'only this SiteName')
    .option(
      '--out <dir>',
      'write numbered files 0001.msg, 0002.msg, ... into this directory instead of standard output',
    )
    .action(async (options: RangeOptions & { out?: string }) => {
      const x = await exporting();
      const cli = app();
      const messages = x.summaryMessages(await rows(x, cli, options));
      if (options.out) {
        mkdirSync(options.out, { recursive: true });
        messages.forEach((m, i) => writeFileSync(path.join(options.out!, `${String(i + 1).padStart(4, '0')}.msg`), m));
        cli.stderr.write(`${messages.length} message(s) written to ${options.out}\n`);
      } else {
        cli.stdout.write(messages.join('\n'));
      }
    });
  exporter
    .command('summaries')
    .description('the monthly cloud summary rows as a table')
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'json']).default('csv'))
    .option('--from <YYYY-MM>', 'first month (inclusive)')
    .option('--to <YYYY-MM>', 'last month (inclusive)')
    .option('--site <site>', 'only this SiteName')
    .action(async (options: RangeOptions & { format: 'csv' | 'json' }) => {
      const x = await exporting();
      const cli = app();
      const found = await rows(x, cli, options);
      cli.stdout.write(options.format === 'csv' ? x.summariesCsv(found) : x.summariesJson(found));
    });
};

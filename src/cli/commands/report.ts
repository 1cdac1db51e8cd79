import { UserError } from '../../errors.ts';
import type { Period } from '../../reports/period.ts';
import type { CliApp } from '../app.ts';
import type { RegisterCommand } from './index.ts';

/** What the report command runs, loaded when it runs. */
async function reporting() {
  const [generating, { parsePeriod }] = await Promise.all([
    import('../../reports/generate.ts'),
    import('../../reports/period.ts'),
  ]);
  return { ...generating, parsePeriod };
}

async function generate(cli: CliApp, period: Period, dir: string, trigger: 'cli' | 'schedule', scheduledFor?: Date) {
  const { generateReport, READ_MODELS } = await reporting();
  const run = await generateReport({
    log: await cli.eventLog(),
    readModels: () => cli.readModels(...READ_MODELS),
    period,
    dir,
    now: new Date(),
    trigger,
    ...(scheduledFor ? { scheduledFor } : {}),
  });
  cli.stdout.write(
    `report ${run.period}: ${run.files.length} files in ${run.directory}, computed at log position ${run.position}\n`,
  );
}

export const registerReport: RegisterCommand = (program, app) => {
  program
    .command('report')
    .description("the technical board's report for a month or a quarter (Markdown, HTML, and CSV/JSON per table)")
    .option('--period <period>', 'a finished month (2026-10) or quarter (2026-Q3)')
    .option('--out <dir>', 'output directory (default: reports/<period>/ under the data directory)')
    .option(
      '--schedule',
      'run the monthly and quarterly schedule in the foreground (06:00 UTC on the 2nd) until interrupted',
    )
    .action(async (options: { period?: string; out?: string; schedule?: boolean }) => {
      const { defaultReportDir, parsePeriod } = await reporting();
      const cli = app();
      if (options.schedule) {
        if (options.period || options.out)
          throw new UserError('INVALID_ARGUMENTS', '--schedule takes neither --period nor --out');
        const [{ reportJobs }, { JobScheduler }, { default: pino }] = await Promise.all([
          import('../../reports/jobs.ts'),
          import('../../jobs/scheduler.ts'),
          import('pino'),
        ]);
        // Each run is logged as a JSON line on standard error, as `serve` logs its jobs.
        const scheduler = new JobScheduler({ logger: pino({ base: { service: 'fedledger' } }, cli.stderr) });
        for (const job of reportJobs({
          log: await cli.eventLog(),
          run: (period, due) => generate(cli, period, defaultReportDir(cli.config.dataDir, period), 'schedule', due),
        }))
          scheduler.add(job);
        await scheduler.start();
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        scheduler.stop();
        await scheduler.idle();
        return;
      }
      if (!options.period)
        throw new UserError('INVALID_ARGUMENTS', 'report needs --period (e.g. 2026-10 or 2026-Q3) or --schedule', {
          field: 'period',
        });
      const period = parsePeriod(options.period);
      await generate(cli, period, options.out ?? defaultReportDir(cli.config.dataDir, period), 'cli');
    });
};

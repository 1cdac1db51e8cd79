/**
 * `fedledger receive --once` (SSM messages from AMS), `fedledger send`
 * (summaries to the accounting portal) and `fedledger publish glue2` (GLUE
 * 2.1 per site), with the `ams` block of the serve configuration file. The
 * schedules of the same work run in `serve`.
 */
import { UserError } from '../../errors.ts';
import type { AmsConfig } from '../../integrations/ams/config.ts';
import { type CliApp, EXIT_REJECTED } from '../app.ts';
import { parentCommand, type RegisterCommand } from './index.ts';

const CONFIG_HELP = 'JSON or YAML settings file holding the ams block (env FEDLEDGER_CONFIG)';

async function amsConfig(cli: CliApp, file: string | undefined): Promise<AmsConfig | undefined> {
  const { loadServeConfig } = await import('../../api/config.ts');
  return loadServeConfig({ config: file, dataDir: cli.config.dataDir }).ams;
}

const run = () => import('../../integrations/ams/run.ts');

export const registerAms: RegisterCommand = (program, app) => {
  program
    .command('receive')
    .description('pull APEL messages from the AMS subscription, verify their S/MIME signatures and ingest them')
    .option('--once', 'pull until the subscription is empty, then exit (serve runs the schedule)')
    .option('--config <file>', CONFIG_HELP)
    .action(async (options: { once?: boolean; config?: string }) => {
      if (!options.once)
        throw new UserError(
          'USAGE',
          'receive runs once (--once); the schedule (ams.receive.cron) runs in `fedledger serve`',
        );
      const cli = app();
      const config = await amsConfig(cli, options.config);
      const { receiveConfigured } = await run();
      const s = await receiveConfigured(await cli.writableEventLog(), config);
      const rejected = Object.entries(s.rejected).filter(([, n]) => n > 0);
      cli.stdout.write(
        `pulled ${s.pulled} message(s): ${s.ingested} ingested (${s.records.accepted} record(s) accepted, ${s.records.unchanged} unchanged, ${s.records.rejected} rejected), ` +
          `${rejected.length ? rejected.map(([reason, n]) => `${n} rejected: ${reason}`).join(', ') : 'none rejected'}; ${s.acknowledged} acknowledged\n`,
      );
      if (s.ackTimedOut)
        cli.stderr.write('warning: AMS refused an acknowledgement as too late; the batch will come again (harmless)\n');
      for (const e of s.records.errors) cli.stderr.write(`${e.message}\n`);
      if (rejected.length > 0 || s.records.rejected > 0) cli.exitCode = EXIT_REJECTED;
    });

  program
    .command('send')
    .description("publish the summaries of months changed since the last send to the accounting portal's AMS topic")
    .option('--dry-run', 'show what would be sent, and send nothing')
    .option('--config <file>', CONFIG_HELP)
    .action(async (options: { dryRun?: boolean; config?: string }) => {
      const cli = app();
      const config = await amsConfig(cli, options.config);
      const [{ sendConfigured }, { querySummaries }] = await Promise.all([
        run(),
        import('../../../projections/accounting/queries.ts'),
      ]);
      const db = (await cli.readModels('accounting')).get('accounting')!.db;
      const { plan, sent } = await sendConfigured(await cli.eventLog(), config, querySummaries(db), {
        dryRun: options.dryRun ?? false,
      });
      for (const m of plan.months) cli.stdout.write(`${m.siteName} ${m.month} ${m.rows.length} record(s)\n`);
      const records = plan.months.reduce((n, m) => n + m.rows.length, 0);
      cli.stdout.write(
        sent
          ? `sent ${sent.records} record(s) of ${sent.months} month(s) in ${sent.messages} message(s) to ${config!.send!.topic}\n`
          : options.dryRun && plan.months.length
            ? `would send ${records} record(s) of ${plan.months.length} month(s) in ${plan.messages.length} message(s) to ${config!.send!.topic}\n`
            : 'nothing changed since the last send\n',
      );
    });

  parentCommand(program, 'publish', 'publish descriptions to other services')
    .command('glue2')
    .description("publish each site's GLUE 2.1 document to its AMS topic, as cloud-info-provider does")
    .option('--site <name>', 'one site')
    .option('--dry-run', 'show what would be published, and publish nothing')
    .option('--config <file>', CONFIG_HELP)
    .action(async (options: { site?: string; dryRun?: boolean; config?: string }) => {
      const cli = app();
      const config = await amsConfig(cli, options.config);
      const { publishGlueConfigured } = await run();
      const published = await publishGlueConfigured(await cli.eventLog(), config, {
        dryRun: options.dryRun ?? false,
        ...(options.site === undefined ? {} : { site: options.site }),
      });
      for (const p of published)
        cli.stdout.write(
          p.topic === null
            ? `${p.siteName}: not published, the topic needs a GOCDB id and the site has none\n`
            : `${p.siteName}: ${p.bytes} bytes ${p.messageId === null ? 'would go' : `published as ${p.messageId}`} to ${p.topic}\n`,
        );
      if (published.length === 0) cli.stdout.write('no site has collector data to describe\n');
    });
};

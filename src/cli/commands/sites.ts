import { Option } from 'commander';
import { UserError } from '../../errors.ts';
import type { RegisterCommand } from './index.ts';

interface StatusOptions {
  site?: string;
  format: 'table' | 'json';
  silentAfterDays: string;
}

export const registerSites: RegisterCommand = (program, app) => {
  const sites = program.command('sites').description('resource centres and their integration into the federation');
  sites
    .command('status')
    .description(
      "each site's integration: accounting, monitoring and information-system checks with their evidence, and its state (not started, partial, integrated, lapsed) since when",
    )
    .option('--site <name>', 'one site')
    .addOption(new Option('--format <f>', 'output format').choices(['table', 'json']).default('table'))
    .option('--silent-after-days <n>', 'accounting or GLUE silent for longer than this fails its check', '7')
    .action(async (o: StatusOptions) => {
      const silentAfterDays = Number(o.silentAfterDays);
      if (!Number.isInteger(silentAfterDays) || silentAfterDays < 1)
        throw new UserError(
          'INVALID_OPTION',
          `--silent-after-days must be a whole number of days, got ${o.silentAfterDays}`,
          {
            field: 'silent-after-days',
          },
        );
      const [{ integrationStatuses }, { snapshotHistory }, { integrationTable }, { DEFAULT_RULES }] = await Promise.all(
        [
          import('../../integration/site-facts.ts'),
          import('../../glue2/snapshots.ts'),
          import('../../integration/table.ts'),
          import('../../integration/status.ts'),
        ],
      );
      const cli = app();
      const models = await cli.readModels('accounting', 'availability');
      const statuses = integrationStatuses(
        {
          accounting: models.get('accounting')!.db,
          availability: models.get('availability')!.db,
          snapshots: await snapshotHistory(await cli.eventLog()),
        },
        new Date(),
        { ...(o.site === undefined ? {} : { site: o.site }), rules: { ...DEFAULT_RULES, silentAfterDays } },
      );
      if (o.site !== undefined && statuses.length === 0)
        throw new UserError(
          'UNKNOWN_SITE',
          `no site ${o.site} in the topology, the usage records or the collectors' data`,
          {
            field: 'site',
          },
        );
      cli.stdout.write(o.format === 'json' ? `${JSON.stringify(statuses, null, 2)}\n` : integrationTable(statuses));
    });
};

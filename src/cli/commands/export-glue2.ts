import { UserError } from '../../errors.ts';
import type { CliApp } from '../app.ts';
import { parentCommand, type RegisterCommand } from './index.ts';

/** Whether GOCDB's topology or the usage records name the site (GLUE 2 comes from the collectors alone). */
async function siteKnown(cli: CliApp, site: string): Promise<boolean> {
  const [models, { siteRegistered }, { siteReported }] = await Promise.all([
    cli.readModels('availability', 'accounting'),
    import('../../../projections/availability/topology.ts'),
    import('../../../projections/accounting/queries.ts'),
  ]);
  return siteRegistered(models.get('availability')!.db, site) || siteReported(models.get('accounting')!.db, site);
}

export const registerExportGlue2: RegisterCommand = (program, app) => {
  parentCommand(program, 'export', 'write derived data in external formats')
    .command('glue2')
    .description("each site's GLUE 2.1 cloud description, as cloud-info-provider's JSON, from what the collectors saw")
    .option('--site <name>', 'one site')
    .action(async (options: { site?: string }) => {
      const { glue2Documents } = await import('../../glue2/snapshots.ts');
      const cli = app();
      const docs = await glue2Documents(await cli.eventLog(), options.site);
      if (options.site !== undefined && docs.size === 0) {
        if (await siteKnown(cli, options.site))
          throw new UserError(
            'NO_COLLECTOR_DATA',
            `site ${options.site} is known, but no collector (OpenStack, OpenNebula) has reported it: its GLUE 2 description is built from collector data (\`fedledger collect --once\`, or the collectors of \`serve\`)`,
            { field: 'site' },
          );
        throw new UserError(
          'UNKNOWN_SITE',
          `no site ${options.site} in the topology, the usage records or the collectors' data`,
          {
            field: 'site',
          },
        );
      }
      // One site: its document as cloud-info-provider writes it; several: keyed by site.
      const out = options.site !== undefined ? docs.get(options.site) : Object.fromEntries(docs);
      cli.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    });
};

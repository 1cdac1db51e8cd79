import { UserError } from '../../errors.ts';
import { glue2Documents } from '../../glue2/snapshots.ts';
import { parentCommand, type RegisterCommand } from './index.ts';

export const registerExportGlue2: RegisterCommand = (program, app) => {
  parentCommand(program, 'export', 'write derived data in external formats')
    .command('glue2')
    .description("each site's GLUE 2.1 cloud description, as cloud-info-provider's JSON, from what the collectors saw")
    .option('--site <name>', 'one site')
    .action(async (options: { site?: string }) => {
      const cli = app();
      const docs = await glue2Documents(await cli.eventLog(), options.site);
      if (options.site !== undefined && docs.size === 0)
        throw new UserError('UNKNOWN_SITE', `no collector has seen site ${options.site}`);
      // One site: its document as cloud-info-provider writes it; several: keyed by site.
      const out = options.site !== undefined ? docs.get(options.site) : Object.fromEntries(docs);
      cli.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    });
};

import { Option } from 'commander';
import { UserError } from '../../errors.ts';
import { ROLES, type Role, TOKENS_FILE } from '../../api/token-roles.ts';
import { createDataDir, requireDataFile } from '../data-dir.ts';
import type { RegisterCommand } from './index.ts';

export const registerToken: RegisterCommand = (program, app) => {
  const token = program.command('token').description('API bearer tokens: create (printed once), list, revoke');
  const store = async (access: 'read' | 'write') => {
    const { config, stderr } = app();
    if (access === 'write') createDataDir(config.dataDir, stderr);
    else requireDataFile(config, TOKENS_FILE, 'no tokens');
    const { TokenStore } = await import('../../api/tokens.ts');
    return new TokenStore(config.dataDir);
  };
  token
    .command('create')
    .description('create a token and print it; only its hash is stored')
    .addOption(new Option('--role <role>', 'what the token may do').choices(ROLES).makeOptionMandatory())
    .option('--site <name>', 'the site of a site or ingest token')
    .option('--vo <name>', 'the VO of a community token')
    .option('--monitoring', 'an ingest token for probe results (POST /v1/probes) rather than a site')
    .option('--label <text>', 'a note to recognise the token by')
    .action(async (o: { role: string; site?: string; vo?: string; monitoring?: boolean; label?: string }) => {
      const role = o.role as Role;
      if (o.site && o.vo) throw new UserError('TOKEN_SCOPE_UNEXPECTED', 'give --site or --vo, not both');
      if (role === 'ingest' && o.monitoring === (o.site !== undefined))
        throw new UserError('TOKEN_SCOPE_REQUIRED', 'an ingest token needs exactly one of --site or --monitoring');
      if (role !== 'ingest' && o.monitoring)
        throw new UserError('TOKEN_SCOPE_UNEXPECTED', '--monitoring is for ingest tokens');
      const tokens = await store('write');
      try {
        const scope = role === 'community' ? (o.vo ?? null) : (o.site ?? null);
        if (role === 'community' && o.site)
          throw new UserError('TOKEN_SCOPE_UNEXPECTED', 'a community token is bound to --vo');
        if (role !== 'community' && o.vo)
          throw new UserError('TOKEN_SCOPE_UNEXPECTED', 'only community tokens are bound to a VO');
        const { token: secret, info } = tokens.create(
          role,
          scope,
          o.label ?? null,
          new Date(),
          role === 'ingest' && o.monitoring === true,
        );
        app().stderr.write(
          `token ${info.tokenId} (${info.role}${info.scope ? ` ${info.scope}` : ''}); it is shown only now:\n`,
        );
        app().stdout.write(`${secret}\n`);
      } finally {
        tokens.close();
      }
    });
  token
    .command('list')
    .description('list tokens (never their secrets)')
    .action(async () => {
      const tokens = await store('read');
      try {
        for (const t of tokens.list())
          app().stdout.write(
            `${t.tokenId}\t${t.role}\t${t.scope ?? '-'}\t${t.createdAt}\t${t.revokedAt ? `revoked ${t.revokedAt}` : 'live'}\t${t.label ?? ''}\n`,
          );
      } finally {
        tokens.close();
      }
    });
  token
    .command('revoke')
    .description('revoke a token by its id')
    .argument('<id>')
    .action(async (id: string) => {
      const tokens = await store('read');
      try {
        tokens.revoke(id);
        app().stdout.write(`revoked ${id}\n`);
      } finally {
        tokens.close();
      }
    });
};

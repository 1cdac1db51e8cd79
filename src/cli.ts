/**
 * `fedledger`: one binary, subcommands in src/cli/commands. Exit codes: 0 on
 * success, 1 on a user error (one line on stderr), 2 on an internal error,
 * 3 when an ingest completed but rejected some of its input.
 * bin/fedledger.js runs `main` (compiled, from dist/).
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { loadConfig } from './config.ts';
import { FedledgerError, UserError } from './errors.ts';
import { CliApp } from './cli/app.ts';
import { commands } from './cli/commands/index.ts';
import { WrongExpectedVersionError } from './eventlog/port.ts';
import { packagePath } from './package-files.ts';

function version(): string {
  return (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
}

export function buildProgram(app: () => CliApp): Command {
  const program = new Command('fedledger')
    .description('Accounting and availability for a federation of cloud resource centres')
    .version(version())
    .option('--data-dir <dir>', 'directory of the SQLite files (env FEDLEDGER_DATA_DIR)', undefined)
    .showHelpAfterError()
    .addHelpText(
      'after',
      '\nExit codes: 0 done; 1 user error; 2 internal error; 3 done, but some input was rejected (ingest commands).',
    )
    .exitOverride();
  for (const register of commands) register(program, app);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  let cli: CliApp | undefined;
  const program = buildProgram(() => {
    cli ??= new CliApp(loadConfig(program.opts<{ dataDir?: string }>()));
    return cli;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return cli?.exitCode ?? 0;
  } catch (thrown) {
    // --help and --version end here too: they must not load what explains a storage failure (SQLite).
    if (thrown instanceof CommanderError) return thrown.exitCode === 0 ? 0 : 1;
    const { explainStorageFailure } = await import('./cli/data-files.ts');
    const error = explainStorageFailure(thrown, loadConfig(program.opts<{ dataDir?: string }>()).dataDir);
    if (error instanceof UserError || error instanceof WrongExpectedVersionError) {
      process.stderr.write(`fedledger: ${error.message} [${error.code}]\n`);
      return 1;
    }
    const detail =
      error instanceof FedledgerError
        ? `${error.message} [${error.code}]`
        : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error);
    process.stderr.write(`fedledger: internal error: ${detail}\n`);
    return 2;
  } finally {
    await cli?.close();
  }
}

/**
 * `fedledger check` (alias `doctor`): SQLite's integrity check on every file
 * of the data directory, and a read of the event log's last events. Says which
 * file is damaged and what to do; exit 0 when all are fine, 1 otherwise.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../errors.ts';
import { EVENTLOG_FILE, EVENTLOG_REMEDY } from '../../eventlog/files.ts';
import type { RegisterCommand } from './index.ts';

export const registerCheck: RegisterCommand = (program, app) => {
  program
    .command('check')
    .alias('doctor')
    .description('check every SQLite file of the data directory for damage, and say what to do about a damaged one')
    .action(async () => {
      const { dataFiles, fileProblems } = await import('../data-files.ts');
      const cli = app();
      const { dataDir, eventstoreUrl } = cli.config;
      if (!existsSync(dataDir))
        throw new UserError('NO_DATA_DIR', `data directory ${dataDir} does not exist`, {
          message: dataDir,
          field: 'data-dir',
        });
      let damaged = 0;
      if (!eventstoreUrl && !existsSync(path.join(dataDir, EVENTLOG_FILE))) {
        damaged++;
        cli.stdout.write(`${path.join(dataDir, EVENTLOG_FILE)}: missing (event log)\n  to do: ${EVENTLOG_REMEDY}\n`);
      }
      for (const file of dataFiles(dataDir)) {
        const problems = fileProblems(file);
        if (problems.length === 0) {
          cli.stdout.write(`${file.file}: ok (${file.role})\n`);
          continue;
        }
        damaged++;
        cli.stdout.write(`${file.file}: DAMAGED (${file.role})\n`);
        for (const p of problems.slice(0, 10)) cli.stdout.write(`  ${p}\n`);
        if (problems.length > 10) cli.stdout.write(`  ... and ${problems.length - 10} more\n`);
        cli.stdout.write(`  to do: ${file.remedy}\n`);
      }
      if (damaged)
        throw new UserError('DATA_DAMAGED', `${damaged} file(s) of ${dataDir} damaged or missing; see above`, {
          message: dataDir,
        });
    });
};

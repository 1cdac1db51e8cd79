import { accessSync, constants, createReadStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { UserError } from '../../errors.ts';
import type { IngestSummary } from '../../ingest/availability-service.ts';
import { type CliApp, EXIT_REJECTED } from '../app.ts';
import { parentCommand, type RegisterCommand } from './index.ts';

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError('UNREADABLE_FILE', `cannot read ${file}: ${(e as Error).message}`, { message: file });
  }
}

/** Prints the summary and errors; rejected input makes the command exit EXIT_REJECTED. */
function print(cli: CliApp, file: string, s: IngestSummary & { kind?: string }): void {
  cli.stdout.write(
    `${path.basename(file)}${s.kind ? ` (${s.kind})` : ''}: ${s.accepted} accepted, ${s.unchanged} unchanged, ${s.rejected} rejected\n`,
  );
  for (const e of s.errors) cli.stderr.write(`${e.message}\n`);
  if (s.rejected > 0) cli.exitCode = EXIT_REJECTED;
}

export const registerIngestAvailability: RegisterCommand = (program, app) => {
  const ingest = parentCommand(program, 'ingest', 'read input files into the event log');
  ingest
    .command('probes')
    .description("probe results as JSON lines in ARGO's metric-data shape; exits 3 when some lines were rejected")
    .argument('<file>')
    .option('--project', 'bring the availability read model along while ingesting, on a worker thread')
    .action(async (file: string, options: { project?: boolean }) => {
      const cli = app();
      try {
        accessSync(file, constants.R_OK);
      } catch (e) {
        throw new UserError('UNREADABLE_FILE', `cannot read ${file}: ${(e as Error).message}`, { message: file });
      }
      const [{ ingestProbeLines }, { projectingAlongside }] = await Promise.all([
        import('../../ingest/availability-service.ts'),
        import('../../projection/worker.ts'),
      ]);
      const log = await cli.writableEventLog();
      const ingest = () =>
        ingestProbeLines(log, createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity }), {
          publisher: `file:${path.basename(file)}`,
          source: file,
        });
      const summary = options.project
        ? (await projectingAlongside(cli.config, ['availability'], ingest)).result
        : await ingest();
      print(cli, file, summary);
    });
  // Whole documents, read at once and recognised by content.
  const documents = [
    {
      name: 'gocdb',
      description: 'a GOCDB get_site_list, get_service_endpoint or get_downtime XML document',
      ingest: 'ingestGocdb',
    },
    {
      name: 'profiles',
      description: 'ARGO operations, aggregation or metric profiles (API envelope or bare object)',
      ingest: 'ingestProfiles',
    },
  ] as const;
  for (const document of documents) {
    ingest
      .command(document.name)
      .description(document.description)
      .argument('<file>')
      .action(async (file: string) => {
        const cli = app();
        const options = { publisher: `file:${path.basename(file)}`, source: file };
        const ingest = (await import('../../ingest/availability-service.ts'))[document.ingest];
        const log = await cli.writableEventLog();
        print(cli, file, await ingest(log, readText(file), options));
      });
  }
};

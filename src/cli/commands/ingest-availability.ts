import { accessSync, constants, createReadStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { UserError } from '../../errors.ts';
import {
  ingestGocdb,
  ingestProbeLines,
  ingestProfiles,
  type IngestSummary,
} from '../../ingest/availability-service.ts';
import { projectingAlongside } from '../../projection/worker.ts';
import { parentCommand, type RegisterCommand } from './index.ts';

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError('UNREADABLE_FILE', `cannot read ${file}: ${(e as Error).message}`, { message: file });
  }
}

function print(
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
  file: string,
  s: IngestSummary & { kind?: string },
): void {
  out.write(
    `${path.basename(file)}${s.kind ? ` (${s.kind})` : ''}: ${s.accepted} accepted, ${s.unchanged} unchanged, ${s.rejected} rejected\n`,
  );
  for (const e of s.errors) err.write(`${e.message}\n`);
}

export const registerIngestAvailability: RegisterCommand = (program, app) => {
  const ingest = parentCommand(program, 'ingest', 'read input files into the event log');
  ingest
    .command('probes')
    .description("probe results as JSON lines in ARGO's metric-data shape")
    .argument('<file>')
    .option('--project', 'bring the availability read model along while ingesting, on a worker thread')
    .action(async (file: string, options: { project?: boolean }) => {
      const cli = app();
      try {
        accessSync(file, constants.R_OK);
      } catch (e) {
        throw new UserError('UNREADABLE_FILE', `cannot read ${file}: ${(e as Error).message}`, { message: file });
      }
      const log = await cli.writableEventLog();
      const ingest = () =>
        ingestProbeLines(log, createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity }), {
          publisher: `file:${path.basename(file)}`,
          source: file,
        });
      const summary = options.project
        ? (await projectingAlongside(cli.config, ['availability'], ingest)).result
        : await ingest();
      print(cli.stdout, cli.stderr, file, summary);
    });
  // Whole documents, read at once and recognised by content.
  const documents = [
    {
      name: 'gocdb',
      description: 'a GOCDB get_site_list, get_service_endpoint or get_downtime XML document',
      ingest: ingestGocdb,
    },
    {
      name: 'profiles',
      description: 'ARGO operations, aggregation or metric profiles (API envelope or bare object)',
      ingest: ingestProfiles,
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
        const log = await cli.writableEventLog();
        print(cli.stdout, cli.stderr, file, await document.ingest(log, readText(file), options));
      });
  }
};

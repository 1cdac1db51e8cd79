/**
 * `fedledger ingest apel <file|dir>...` and `fedledger quarantine ...`.
 * A directory is read like an SSM sender's outgoing queue: every message
 * file below it, in name order (the order senders write them). Which files
 * were ingested is recorded in the event store they went into (by content
 * hash, see ingested-files.ts), so the same directory into another data
 * directory is read whole, and into the same one only for new content; the
 * directory is left as it was unless `--mark-done` asks for SSM's markers.
 */
import { Option } from 'commander';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../errors.ts';
import type { IngestResult } from '../../ingest/apel-service.ts';
import type { IncomingMessage } from '../../ingest/ingest-many.ts';
import type { EventLog } from '../../eventlog/port.ts';
import type { IngestedFiles } from '../../ingest/ingested-files.ts';
import { type CliApp, EXIT_REJECTED } from '../app.ts';
import { parentCommand, type RegisterCommand } from './index.ts';

export const DONE_SUFFIX = '.done';
/** Files that are not (yet) messages: markers, a sender's temporary and lock files. */
const NOT_MESSAGES = [DONE_SUFFIX, '.tmp', '.lck'];

/** Message files below `dir`, sorted by their path relative to `dir`. */
export function messageFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const child = path.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile() && !NOT_MESSAGES.some((s) => entry.name.endsWith(s))) found.push(child);
    }
  };
  walk('');
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((rel) => path.join(dir, rel));
}

function readBytes(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UserError('UNREADABLE_FILE', `cannot read ${file}: ${(e as Error).message}`, { message: file });
  }
}

/** A message file's bytes: decoded where it is parsed, which rejects records with invalid UTF-8. */
function* messagesOf(files: readonly string[]): Generator<IncomingMessage> {
  for (const file of files) yield { name: file, text: readBytes(file) };
}

/** A directory's file left out because the store already has its content. */
export interface SkippedFile {
  file: string;
  reason: string;
}

interface DirectoryRun {
  contentHashOf: (bytes: Buffer) => string;
  /** What the store has ingested, and the files of this run as they are read. */
  known: IngestedFiles;
  /** Content hash of each file read, by name. */
  hashes: Map<string, string>;
  skipped: SkippedFile[];
}

/** A directory's files whose content the store has not ingested (nor this run read already). */
function* newMessagesOf(files: readonly string[], run: DirectoryRun): Generator<IncomingMessage> {
  for (const file of files) {
    const bytes = readBytes(file);
    const hash = run.contentHashOf(bytes);
    const earlier = run.known.get(hash);
    if (earlier) {
      run.skipped.push({
        file,
        reason: `already ingested: same content as ${earlier.path}${earlier.ingestedAt === null ? ' in this run' : `, ingested ${earlier.ingestedAt}`}`,
      });
      continue;
    }
    run.known.set(hash, { path: file, ingestedAt: null });
    run.hashes.set(file, hash);
    yield { name: file, text: bytes };
  }
}

function printResult(cli: CliApp, result: IngestResult | IngestOutcome, format: string): void {
  if (result.rejected > 0) cli.exitCode = EXIT_REJECTED;
  const skipped = 'skipped' in result ? result.skipped.length : 0;
  if (format === 'json') {
    cli.stdout.write(`${JSON.stringify('skipped' in result ? { ...result, filesSkipped: skipped } : result)}\n`);
    return;
  }
  const skips =
    skipped === 0
      ? ''
      : `; ${skipped} file${skipped === 1 ? '' : 's'} skipped, already ingested into this event store (same content)`;
  cli.stdout.write(`${result.accepted} accepted, ${result.unchanged} unchanged, ${result.rejected} rejected${skips}\n`);
  for (const e of result.errors) {
    const where = [e.record === null ? null : `record ${e.record}`, e.line === null ? null : `line ${e.line}`, e.field]
      .filter((x) => x !== null)
      .join(', ');
    cli.stderr.write(`${e.message}: ${where}: ${e.reason}\n`);
  }
}

interface IngestOutcome extends IngestResult {
  skipped: SkippedFile[];
}

/**
 * Files and directories in the order given. A directory's files are recorded in the store with their records
 * (in the same append), and skipped when the store has their content; `markDone` also writes SSM's markers.
 */
async function ingestPaths(log: EventLog, paths: readonly string[], markDone: boolean): Promise<IngestOutcome> {
  const [
    { addResults, EMPTY_RESULT },
    { ingestMany },
    { prepareInThread },
    { MESSAGES_PER_BATCH, prepareOnWorkerThread },
    { contentHashOf, fileIngestedAppend, loadIngestedFiles },
  ] = await Promise.all([
    import('../../ingest/apel-service.ts'),
    import('../../ingest/ingest-many.ts'),
    import('../../ingest/preparers/in-thread.ts'),
    import('../../ingest/preparers/worker-thread.ts'),
    import('../../ingest/ingested-files.ts'),
  ]);
  let total = EMPTY_RESULT;
  const skipped: SkippedFile[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new UserError('UNREADABLE_FILE', `no such file or directory: ${p}`, { message: p });
    const options = { publisher: `cli:${path.basename(path.resolve(p))}` };
    if (!statSync(p).isDirectory()) {
      total = addResults(total, await ingestMany(log, messagesOf([p]), { ...options, prepare: prepareInThread }));
      continue;
    }
    const files = messageFiles(p);
    const run: DirectoryRun = { contentHashOf, known: await loadIngestedFiles(log), hashes: new Map(), skipped };
    const at = new Date();
    const result = await ingestMany(log, newMessagesOf(files, run), {
      ...options,
      prepare: files.length > MESSAGES_PER_BATCH ? prepareOnWorkerThread : prepareInThread,
      alongside: (name) => [fileIngestedAppend(name, run.hashes.get(name)!, at)],
      ...(markDone ? { onIngested: (name: string) => writeFileSync(name + DONE_SUFFIX, '') } : {}),
    });
    total = addResults(total, result);
  }
  return { ...total, skipped };
}

/** `--format` of the commands that print an ingest's outcome. */
const formatOption = () => new Option('--format <format>', 'output format').choices(['text', 'json']).default('text');

export const registerIngestApel: RegisterCommand = (program, app) => {
  parentCommand(program, 'ingest', 'read input files into the event log')
    .command('apel')
    .description(
      'APEL cloud usage messages (v0.1, v0.2, v0.4): files, or directories of messages as SSM senders leave them (a directory file whose content this event store has ingested is skipped); exits 3 when some records were rejected',
    )
    .argument('<paths...>')
    .addOption(formatOption())
    .option('--project', 'bring the accounting read model along while ingesting, on a worker thread')
    .option(
      '--mark-done',
      "also write an empty <file>.done beside each directory message once ingested (SSM's convention); which files were ingested is kept in the event store either way, and only that decides what is skipped",
    )
    .action(async (paths: string[], options: { format: string; project?: boolean; markDone?: boolean }) => {
      const cli = app();
      const log = await cli.writableEventLog();
      const ingest = () => ingestPaths(log, paths, options.markDone ?? false);
      const { projectingAlongside } = await import('../../projection/worker.ts');
      const total = options.project
        ? (await projectingAlongside(cli.config, ['accounting'], ingest)).result
        : await ingest();
      printResult(cli, total, options.format);
    });

  const quarantine = parentCommand(program, 'quarantine', 'rejected APEL records: list them, re-submit corrections');
  quarantine
    .command('list')
    .description('quarantined records not yet resolved')
    .option('--site <site>', 'only this SiteName')
    .option('--all', 'include resolved ones')
    .action(async (options: { site?: string; all?: boolean }) => {
      const { queryQuarantine } = await import('../../../projections/accounting/queries.ts');
      const cli = app();
      const db = (await cli.readModels('accounting')).get('accounting')!.db;
      const rows = queryQuarantine(db, {
        ...(options.site ? { site: options.site } : {}),
        includeResolved: options.all ?? false,
      });
      cli.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    });
  quarantine
    .command('resubmit')
    .description(
      're-submit a corrected record (its lines without header; the whole message when the message was rejected as a whole)',
    )
    .argument('<messageId>', 'sourceMessageId shown by `quarantine list`')
    .argument('<record>', 'record index, or "message"')
    .argument('<file>', 'the corrected text')
    .option('--by <name>', 'who corrected it', process.env['USER'] ?? 'cli')
    .addOption(formatOption())
    .action(async (messageId: string, record: string, file: string, options: { by: string; format: string }) => {
      const index = record === 'message' ? null : Number(record);
      if (index !== null && !(Number.isInteger(index) && index > 0))
        throw new UserError('BAD_ARGUMENT', `record must be a positive integer or "message", got ${record}`);
      const { resubmitCorrected } = await import('../../ingest/apel-service.ts');
      const cli = app();
      const result = await resubmitCorrected(await cli.eventLog(), messageId, index, readBytes(file).toString('utf8'), {
        by: options.by,
      });
      printResult(cli, result, options.format);
    });
};

/**
 * `fedledger ingest apel <file|dir>...` and `fedledger quarantine ...`.
 * A directory is read like an SSM sender's outgoing queue: every message
 * file below it, in name order (the order senders write them), each once: a
 * `<file>.done` marker is written beside it when it has been ingested.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../errors.ts';
import {
  addResults,
  EMPTY_RESULT,
  type IncomingMessage,
  type IngestResult,
  ingestMany,
  prepareHere,
  resubmitCorrected,
} from '../../ingest/apel-service.ts';
import { queryQuarantine } from '../../../projections/accounting.ts';
import type { EventLog } from '../../eventlog/port.ts';
import { MESSAGES_PER_BATCH, prepareOnThread } from '../../ingest/apel-parse-worker.ts';
import { projectingAlongside } from '../../projection/worker.ts';
import type { CliApp } from '../app.ts';
import { parentCommand, type RegisterCommand } from './index.ts';

export const DONE_SUFFIX = '.done';
/** Files that are not (yet) messages: markers, a sender's temporary and lock files. */
const NOT_MESSAGES = [DONE_SUFFIX, '.tmp', '.lck'];

/** Message files below `dir` not yet marked done, sorted by their path relative to `dir`. */
export function pendingMessageFiles(dir: string): string[] {
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
  return found
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .filter((rel) => !existsSync(path.join(dir, rel + DONE_SUFFIX)))
    .map((rel) => path.join(dir, rel));
}

function readMessage(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError('UNREADABLE_FILE', `cannot read ${file}: ${(e as Error).message}`, { message: file });
  }
}

function* messagesOf(files: readonly string[]): Generator<IncomingMessage> {
  for (const file of files) yield { name: file, text: readMessage(file) };
}

function printResult(cli: CliApp, result: IngestResult, format: string): void {
  if (format === 'json') {
    cli.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  cli.stdout.write(`${result.accepted} accepted, ${result.unchanged} unchanged, ${result.rejected} rejected\n`);
  for (const e of result.errors) {
    const where = [e.record === null ? null : `record ${e.record}`, e.line === null ? null : `line ${e.line}`, e.field]
      .filter((x) => x !== null)
      .join(', ');
    cli.stderr.write(`${e.message}: ${where}: ${e.reason}\n`);
  }
}

/** Files and directories in the order given; a directory's messages are marked done as they are ingested. */
async function ingestPaths(log: EventLog, paths: readonly string[]): Promise<IngestResult> {
  let total = EMPTY_RESULT;
  for (const p of paths) {
    if (!existsSync(p)) throw new UserError('UNREADABLE_FILE', `no such file or directory: ${p}`, { message: p });
    const isDir = statSync(p).isDirectory();
    const files = isDir ? pendingMessageFiles(p) : [p];
    const result = await ingestMany(log, messagesOf(files), {
      publisher: `cli:${path.basename(path.resolve(p))}`,
      prepare: files.length > MESSAGES_PER_BATCH ? prepareOnThread : prepareHere,
      ...(isDir ? { onIngested: (name: string) => writeFileSync(name + DONE_SUFFIX, '') } : {}),
    });
    total = addResults(total, result);
  }
  return total;
}

function checkFormat(format: string): void {
  if (format !== 'text' && format !== 'json')
    throw new UserError('BAD_FORMAT', `--format must be text or json, got ${format}`);
}

export const registerIngestApel: RegisterCommand = (program, app) => {
  parentCommand(program, 'ingest', 'read input files into the event log')
    .command('apel')
    .description(
      'APEL cloud usage messages (v0.1, v0.2, v0.4): files, or directories of messages as SSM senders leave them',
    )
    .argument('<paths...>')
    .option('--format <format>', 'text or json', 'text')
    .option('--project', 'bring the accounting read model along while ingesting, on a worker thread')
    .action(async (paths: string[], options: { format: string; project?: boolean }) => {
      checkFormat(options.format);
      const cli = app();
      const log = await cli.writableEventLog();
      const ingest = () => ingestPaths(log, paths);
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
      const cli = app();
      const db = (await cli.readModels('accounting')).get('accounting')!.db;
      const rows = queryQuarantine(db, {
        ...(options.site ? { site: options.site } : {}),
        includeResolved: options.all ?? false,
      });
      cli.stdout.write(
        `${JSON.stringify(
          rows.map(({ messageText: _m, ...rest }) => rest),
          null,
          2,
        )}\n`,
      );
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
    .option('--format <format>', 'text or json', 'text')
    .action(async (messageId: string, record: string, file: string, options: { by: string; format: string }) => {
      checkFormat(options.format);
      const index = record === 'message' ? null : Number(record);
      if (index !== null && !(Number.isInteger(index) && index > 0))
        throw new UserError('BAD_ARGUMENT', `record must be a positive integer or "message", got ${record}`);
      const cli = app();
      const result = await resubmitCorrected(await cli.eventLog(), messageId, index, readMessage(file), {
        by: options.by,
      });
      printResult(cli, result, options.format);
    });
};

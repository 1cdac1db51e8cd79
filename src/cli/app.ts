/**
 * What every CLI command gets: configuration, the event log, read models
 * brought up to date, and output streams. Commands close nothing themselves.
 * The store and the projections are loaded when first asked for: every command
 * gets a CliApp, and `--help` should load neither.
 */
import type { Config } from '../config.ts';
import type { EventLog } from '../eventlog/port.ts';
import type { ProjectionRunner } from '../projection/runner.ts';
import { createDataDir, requireDataFile } from './data-dir.ts';

/** Exit code of a command that completed but rejected some of its input (records, lines, elements). */
export const EXIT_REJECTED = 3;

async function open(config: Config): Promise<EventLog> {
  const { openEventLog } = await import('../eventlog/open.ts');
  return openEventLog(config);
}

export class CliApp {
  /** What the process exits with when the command completes: 0, or EXIT_REJECTED. */
  exitCode = 0;
  private log: EventLog | undefined;
  private readonly runners = new Map<string, ProjectionRunner>();

  constructor(
    readonly config: Config,
    readonly stdout: NodeJS.WritableStream = process.stdout,
    readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  /** The event log to read: a data directory without one is refused (see data-dir.ts). */
  async eventLog(): Promise<EventLog> {
    if (!this.log) requireDataFile(this.config);
    this.log ??= await open(this.config);
    return this.log;
  }

  /** The event log to write to, in a data directory created if it is missing. */
  async writableEventLog(): Promise<EventLog> {
    if (!this.log) createDataDir(this.config.dataDir, this.stderr);
    this.log ??= await open(this.config);
    return this.log;
  }

  /** The named read models, caught up to the head of the log (so ingest-then-export needs no waiting). */
  async readModels(...names: string[]): Promise<Map<string, ProjectionRunner>> {
    const missing = names.filter((n) => !this.runners.has(n));
    if (missing.length) {
      const { upToDate } = await import('../projection/registry.ts');
      const opened = await upToDate(await this.eventLog(), this.config.dataDir, missing, undefined, (message) =>
        this.stderr.write(`warning: ${message}\n`),
      );
      for (const [name, runner] of opened) this.runners.set(name, runner);
    } else {
      for (const name of names) await this.runners.get(name)!.catchUp();
    }
    return new Map(names.map((n) => [n, this.runners.get(n)!]));
  }

  async close(): Promise<void> {
    for (const runner of this.runners.values()) await runner.close();
    await this.log?.close();
  }
}

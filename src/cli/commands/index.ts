/**
 * Every CLI command, registered in this order. A command module adds itself
 * (or a subcommand of a shared parent, via `parentCommand`) to the program.
 */
import type { Command } from 'commander';
import type { CliApp } from '../app.ts';
import { registerExportAccounting } from './export-accounting.ts';
import { registerCollect } from './collect.ts';
import { registerExportAr } from './export-ar.ts';
import { registerExportGlue2 } from './export-glue2.ts';
import { registerIngestApel } from './ingest-apel.ts';
import { registerIngestAvailability } from './ingest-availability.ts';
import { registerProject } from './project.ts';
import { registerDemo } from './demo.ts';
import { registerServe } from './serve.ts';
import { registerToken } from './token.ts';
import { registerReport } from './report.ts';
import { registerCheck } from './check.ts';
import { registerSites } from './sites.ts';
import { registerAms } from './ams.ts';

export type RegisterCommand = (program: Command, app: () => CliApp) => void;

export const commands: RegisterCommand[] = [
  registerProject,
  registerIngestAvailability,
  registerExportAr,
  registerReport,
  registerIngestApel,
  registerExportAccounting,
  registerCollect,
  registerExportGlue2,
  registerServe,
  registerToken,
  registerDemo,
  registerCheck,
  registerSites,
  registerAms,
];

/** The shared parent command (`ingest`, `export`, ...), created on first use. */
export function parentCommand(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

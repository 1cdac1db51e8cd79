/**
 * The read models fedledger maintains, and the helper that brings them to
 * the head of the log before a command reads them.
 */
import path from 'node:path';
import type { EventLog } from '../eventlog/port.ts';
import { accountingProjection } from '../../projections/accounting/apply.ts';
import { availabilityProjection } from '../../projections/availability/apply.ts';
import { setAsideIfDamaged } from './damaged.ts';
import type { Projection } from './projection.ts';
import { type CatchUpProgress, ProjectionRunner, readModelPath } from './runner.ts';

export const projections: Projection[] = [availabilityProjection, accountingProjection];

export function projectionsDir(dataDir: string): string {
  return path.join(dataDir, 'projections');
}

export function findProjection(name: string): Projection | undefined {
  return projections.find((p) => p.name === name);
}

/** A runner on the projection's read model, which starts afresh (warning through `warn`) if its file is damaged. */
export function openRunner(
  log: EventLog,
  projection: Projection,
  dataDir: string,
  warn: (message: string) => void,
): ProjectionRunner {
  setAsideIfDamaged(readModelPath(projectionsDir(dataDir), projection.name), warn);
  return new ProjectionRunner(log, projection, projectionsDir(dataDir));
}

/** Opens a runner per projection (all, or the named ones) and catches each up to the head of the log. */
export async function upToDate(
  log: EventLog,
  dataDir: string,
  names?: readonly string[],
  onProgress?: (name: string, p: CatchUpProgress) => void,
  warn: (message: string) => void = (message) => process.emitWarning(message),
): Promise<Map<string, ProjectionRunner>> {
  const runners = new Map<string, ProjectionRunner>();
  for (const projection of projections) {
    if (names && !names.includes(projection.name)) continue;
    const runner = openRunner(log, projection, dataDir, warn);
    await runner.catchUp(onProgress && ((p) => onProgress(projection.name, p)));
    runners.set(projection.name, runner);
  }
  return runners;
}

/** Runs the fedledger CLI as a user would: a child process of bin/fedledger.js. */
import { spawnSync } from 'node:child_process';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `fedledger --data-dir <dataDir> <args>`; `as` runs it through another program first (e.g. to drop privileges). */
export function fedledgerIn(dataDir: string, args: readonly string[], as: readonly string[] = []): CliRun {
  const [program, programArgs] = fedledgerCommand(dataDir, args);
  const command = [...as, program, ...programArgs];
  const run = spawnSync(command[0]!, command.slice(1), { encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** The program and arguments that run `fedledger --data-dir <dataDir> <args>`, for callers that spawn it themselves. */
export function fedledgerCommand(dataDir: string, args: readonly string[]): [string, string[]] {
  return [process.execPath, ['bin/fedledger.js', '--data-dir', dataDir, ...args]];
}

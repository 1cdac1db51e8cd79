/**
 * Child process for the crash test: catches the tally projection up. With
 * KILL_AT=n it announces "MIDBATCH" after handling its n-th event and then
 * stalls inside the open transaction, waiting to be SIGKILLed.
 */
import { writeSync } from 'node:fs';
import path from 'node:path';
import { SqliteEventLog } from '../../src/eventlog/sqlite.ts';
import { ProjectionRunner } from '../../src/projection/runner.ts';
import { tallyProjection } from './tally-projection.ts';

const [dataDir] = process.argv.slice(2);
const killAt = Number(process.env['KILL_AT'] ?? 0);
let handled = 0;
const projection = tallyProjection(1, () => {
  handled += 1;
  if (handled === killAt) {
    writeSync(1, 'MIDBATCH\n');
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      // Stall synchronously so the kill lands inside the batch's transaction.
    }
  }
});
const log = new SqliteEventLog(path.join(dataDir!, 'events.sqlite'));
const runner = new ProjectionRunner(log, projection, path.join(dataDir!, 'projections'));
await runner.catchUp();
await runner.close();
await log.close();
writeSync(1, 'DONE\n');

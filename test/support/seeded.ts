/** A data directory as the CLI leaves it, made in-process (faster than spawning `ingest`). */
import { readFileSync } from 'node:fs';
import { openEventLog } from '../../src/eventlog/open.ts';
import { ingestMany } from '../../src/ingest/ingest-many.ts';
import { ingestProbeLines } from '../../src/ingest/availability-service.ts';
import { upToDate } from '../../src/projection/registry.ts';
import { tempDir } from './tmp.ts';

const USAGE = ['fixtures/apel/caso-2025-12.msg', 'fixtures/apel/caso-2026-01.msg', 'fixtures/apel/oneacct-v02.msg'];

/**
 * A few usage records (then, with `probes`, probe results after them), with both read models caught up unless
 * `project` is false. Removed at the end of the test.
 */
export async function seededDataDir(
  t: { teardown: (fn: () => void) => void },
  options: { probes?: string; project?: boolean } = {},
): Promise<string> {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const log = await openEventLog({ dataDir: tmp.dir });
  await ingestMany(
    log,
    USAGE.map((f) => ({ name: f, text: readFileSync(f, 'utf8') })),
    { publisher: 'test' },
  );
  if (options.probes)
    await ingestProbeLines(log, readFileSync(options.probes, 'utf8').split('\n'), { publisher: 'test' });
  if (options.project !== false) for (const runner of (await upToDate(log, tmp.dir)).values()) await runner.close();
  await log.close();
  return tmp.dir;
}

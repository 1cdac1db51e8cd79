/**
 * The projection's incremental summaries against the pure reference
 * (`summarise` over last-received VM-months): a seeded random stream of
 * late, republished, status-changing and decreasing records, delivered over
 * many batches, and then a rebuild from scratch.
 */
import test from 'ava';
import { measurementTime, yearMonthOf } from '../../src/accounting/measurement.ts';
import { summarise, type VmMonth, vmMonthOf, withMonthlyDifferences } from '../../src/accounting/summary.ts';
import { parseApelCloudMessage } from '../../src/ingest/apel-message.ts';
import { querySummaries } from '../../projections/accounting/queries.ts';
import { epoch, ledger, message, record } from './support.ts';

function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a * 1103515245 + 12345) % 2 ** 31;
    return a / 2 ** 31;
  };
}

test('incremental summaries equal the pure reference, and a rebuild gives the same', async (t) => {
  const random = prng(42);
  const int = (n: number) => Math.floor(random() * n);
  const base = epoch('2025-11-01T00:00:00Z');
  const texts: string[] = [];
  for (let i = 0; i < 160; i++) {
    const completed = int(5) === 0;
    const start = base + int(40) * 86_400;
    texts.push(
      record({
        VMUUID: `vm-${int(10)}`,
        SiteName: `SITE-${int(2)}`,
        Status: completed ? 'completed' : 'started',
        StartTime: start,
        EndTime: completed ? start + int(90) * 86_400 : 0,
        WallDuration: int(90) * 86_400,
        CpuDuration: int(1000),
        NetworkInbound: int(3) === 0 ? 'NULL' : int(50),
        CpuCount: [1, 2, 0.5][int(3)]!,
        CloudType: `caso/${int(3)}`,
        FQAN: int(2) ? 'vo.a' : '/vo.b/Role=NULL',
        Memory: int(2) ? 2048 : 'NULL',
      }),
    );
  }
  const l = await ledger();
  const kept = new Map<string, VmMonth>();
  const seen = new Set<string>();
  let position = 0;
  for (let i = 0; i < texts.length;) {
    const n = 1 + int(12);
    const chunk = texts.slice(i, i + n);
    i += n;
    // Occasionally re-send an earlier record verbatim: a no-op.
    if (int(4) === 0) chunk.push(texts[int(i)]!);
    const text = message('v0.4', ...chunk);
    await l.ingest(text, '2026-03-01T00:00:00Z');
    for (const { record: r } of parseApelCloudMessage(text, 'oracle').records) {
      const ym = yearMonthOf(measurementTime(r)!);
      const k = `${r.siteName}|${r.vmUuid}|${ym}`;
      // A record already received once (in any message) is the same event: no effect.
      const identity = JSON.stringify(r);
      if (seen.has(identity)) continue;
      seen.add(identity);
      kept.set(k, vmMonthOf(r, ym, ++position));
    }
  }
  const expected = summarise(withMonthlyDifferences([...kept.values()]));
  t.true(expected.length > 10);
  t.deepEqual(querySummaries(l.runner.db), expected);
  await l.runner.rebuild();
  t.deepEqual(querySummaries(l.runner.db), expected);
  await l.close();
});

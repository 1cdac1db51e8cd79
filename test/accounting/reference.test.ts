/**
 * The real payloads in ../shared/reference/apel/ (only when that folder is
 * present): each parses as expected, and loading the two cloud messages
 * reproduces APEL 2.5.0's own summary output byte for byte.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { summaryMessages } from '../../src/accounting/render.ts';
import { parseApelCloudMessage } from '../../src/ingest/apel-message.ts';
import { querySummaries } from '../../projections/accounting/queries.ts';
import { ledger } from './support.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const apelDir = path.join(path.resolve(repoRoot, '../shared/reference'), 'apel');
const present = existsSync(apelDir);
const read = (name: string) => readFileSync(path.join(apelDir, name), 'utf8');
const maybe = present ? test : test.skip;
if (!present) test.skip(`reference payloads not found at ${apelDir}: reference tests skipped`, () => undefined);

maybe('cloud-v04.msg: 5 records, both FQAN forms, fractional CpuCount, no trailing %%', (t) => {
  const parsed = parseApelCloudMessage(read('cloud-v04.msg'), 'cloud-v04.msg');
  t.is(parsed.version, 'v0.4');
  t.deepEqual(parsed.rejected, []);
  t.is(parsed.records.length, 5);
  const [docs, , , , fzj] = parsed.records.map((r) => r.record);
  t.like(docs, {
    vmUuid: '12345678-1234-5678-9012-123456789012',
    vo: 'vo.sample.org',
    voGroup: null,
    endTime: null,
    publicIpCount: 1,
  });
  t.like(fzj, {
    vmUuid: '2012-08-14 14:00:01+0200 FZJ Accounting Test',
    vo: 'ops',
    voGroup: '/ops',
    voRole: 'Role=NULL',
    cpuCount: 1.456,
  });
});

maybe('cloud-v02.msg: 3 records of the v0.2 field set', (t) => {
  const parsed = parseApelCloudMessage(read('cloud-v02.msg'), 'cloud-v02.msg');
  t.is(parsed.version, 'v0.2');
  t.deepEqual(parsed.rejected, []);
  t.deepEqual(
    parsed.records.map((r) => [r.record.siteName, r.record.machineName, r.record.wallDuration]),
    [
      ['CESGA', 'one-2421', null],
      ['CESGA', 'one-2422', null],
      ['CESNET', "'one-1'", null],
    ],
  );
});

maybe('the JSON messages and the summary message are not cloud usage messages: rejected whole, by header', (t) => {
  for (const name of ['accelerator-v01.msg', 'ip-v02.json', 'cloud-summary-v04.msg']) {
    const parsed = parseApelCloudMessage(read(name), name);
    t.is(parsed.records.length, 0, name);
    t.deepEqual(
      parsed.rejected.map((r) => [r.index, r.errors[0]!.code]),
      [[null, 'BAD_HEADER']],
      name,
    );
  }
});

maybe(
  'loading cloud-v02.msg then cloud-v04.msg gives exactly APEL 2.5.0 summary output (cloud-summary-v04.msg)',
  async (t) => {
    const l = await ledger();
    await l.ingest(read('cloud-v02.msg'), '2026-06-02T00:00:00Z');
    await l.ingest(read('cloud-v04.msg'), '2026-06-02T00:00:00Z');
    const messages = summaryMessages(querySummaries(l.runner.db));
    t.deepEqual(messages, [read('cloud-summary-v04.msg')]);
    await l.close();
  },
);

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
// @ts-expect-error bin/ is plain JavaScript without declarations
import { needsYoungGeneration } from '../../bin/young-generation.js';
import { tempDir } from '../support/tmp.ts';

const needs = needsYoungGeneration as (args: string[]) => boolean;

test('a small ingest runs in the first process; a large one, a FIFO and project are relaunched', (t) => {
  const tmp = tempDir();
  try {
    const small = path.join(tmp.dir, 'small');
    mkdirSync(path.join(small, 'sub'), { recursive: true });
    writeFileSync(path.join(small, 'sub', '0001.msg'), 'x'.repeat(1000));
    t.false(needs(['ingest', 'apel', small]));
    // A data directory holding a large event log is not input.
    const data = path.join(tmp.dir, 'data');
    mkdirSync(data);
    writeFileSync(path.join(data, 'events.sqlite'), '');
    truncateSync(path.join(data, 'events.sqlite'), 32 * 2 ** 20);
    t.false(needs(['--data-dir', data, 'ingest', 'apel', small]));
    t.false(needs(['ingest', 'apel', small, '--data-dir', data]));
    // 16 MiB of messages in a directory tree (sparse files: their size is what counts).
    const large = path.join(tmp.dir, 'large');
    mkdirSync(path.join(large, 'a'), { recursive: true });
    for (const name of ['a/1.msg', '2.msg']) {
      writeFileSync(path.join(large, name), '');
      truncateSync(path.join(large, name), 8 * 2 ** 20);
    }
    t.true(needs(['ingest', 'apel', large]));
    const fifo = path.join(tmp.dir, 'probes.jsonl');
    spawnSync('mkfifo', [fifo]);
    t.true(needs(['ingest', 'probes', fifo]));
    t.true(needs(['--data-dir', data, 'project']));
    t.false(needs(['export', 'apel-summaries']));
    t.false(needs(['--help']));
  } finally {
    tmp.cleanup();
  }
});

/**
 * `ingestMany`'s groups: messages are appended a group of records at a
 * time, so the embedded store commits each group in one transaction.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { AppendRequest, EventLog } from '../../src/eventlog/port.ts';
import { SqliteEventLog } from '../../src/eventlog/sqlite.ts';
import { ingestMany } from '../../src/ingest/ingest-many.ts';
import { tempDir } from '../support/tmp.ts';

const DIR = 'fixtures/demo/apel';
const MESSAGES = readdirSync(DIR)
  .sort()
  .map((name) => ({ name, text: readFileSync(path.join(DIR, name), 'utf8') }));
const options = { publisher: 'test', receivedAt: new Date('2026-11-01T00:00:00Z') };

/** The log, with the most appends it was given that had not yet completed. */
function watched(log: SqliteEventLog): { log: EventLog; mostInFlight: () => number } {
  let inFlight = 0;
  let most = 0;
  const appendMany = async (requests: readonly AppendRequest[]) => {
    inFlight += requests.length;
    most = Math.max(most, inFlight);
    try {
      return await log.appendMany(requests);
    } finally {
      inFlight -= requests.length;
    }
  };
  return { log: Object.assign(Object.create(log) as EventLog, { appendMany }), mostInFlight: () => most };
}

async function storedEvents(file: string): Promise<unknown[]> {
  const log = new SqliteEventLog(file);
  const rows: unknown[] = [];
  for await (const e of log.readAll()) rows.push([e.position, e.id, e.stream, e.revision, e.data]);
  await log.close();
  return rows;
}

test('messages go in groups of at least groupRecords records, at most two groups at a time, in order', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const largest = Math.max(...MESSAGES.map((m) => m.text.split('%%').length));
  const group = 300;
  const most: Record<string, number> = {};
  const results: Record<string, unknown> = {};
  for (const groupRecords of [1, group]) {
    const store = new SqliteEventLog(path.join(tmp.dir, `${groupRecords}.sqlite`));
    const { log, mostInFlight } = watched(store);
    const names: string[] = [];
    results[groupRecords] = await ingestMany(log, MESSAGES, {
      ...options,
      groupRecords,
      onIngested: (name) => names.push(name),
    });
    most[groupRecords] = mostInFlight();
    t.deepEqual(
      names,
      MESSAGES.map((m) => m.name),
    );
    await store.close();
  }
  t.true(most[group]! >= group, `${most[group]} appends in flight at most`);
  t.true(most[group]! < 2 * (group + largest), `${most[group]} appends in flight at most`);
  t.true(most[1]! <= 2 * largest, `${most[1]} appends in flight at most`);
  t.deepEqual(results[group], results[1]);
  t.deepEqual(
    await storedEvents(path.join(tmp.dir, `${group}.sqlite`)),
    await storedEvents(path.join(tmp.dir, '1.sqlite')),
  );
});

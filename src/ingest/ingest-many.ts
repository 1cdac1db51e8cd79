/**
 * Many APEL messages in one run (`ingest apel DIR`): a `MessagePreparer`
 * turns them into their events, here or on a parser thread (preparers/),
 * and their appends are issued in message order, a group of records at a
 * time, so the embedded store commits each group in one transaction.
 */
import type { StreamEvent } from '../eventlog/append-by-stream.ts';
import type { EventLog } from '../eventlog/port.ts';
import {
  addResults,
  appendPrepared,
  EMPTY_RESULT,
  type IngestOptions,
  type IngestResult,
  type PreparedMessage,
} from './apel-service.ts';
import { prepareInThread } from './preparers/in-thread.ts';

export interface IncomingMessage {
  name: string;
  /** Text, or bytes that prepareApelMessage decodes (files and HTTP bodies). */
  text: string | Uint8Array;
}

/** What applies to every message of a run (each is named by its own `name`). */
export type PrepareOptions = Omit<IngestOptions, 'messageName'>;

/**
 * Where messages are parsed into their events (`prepareApelMessage`): on this thread or on a thread of its own.
 * It yields them in order, and throws at the first message that cannot be prepared.
 */
export type MessagePreparer = (
  messages: Iterable<IncomingMessage>,
  options: PrepareOptions,
) => AsyncIterable<PreparedMessage> | Iterable<PreparedMessage>;

/**
 * The prepared messages, then, if preparing or reading one failed, that failure as one more item: it is thrown
 * at its turn, after the messages before it completed (and were marked done).
 */
async function* inTurn(
  prepared: AsyncIterable<PreparedMessage> | Iterable<PreparedMessage>,
): AsyncGenerator<PreparedMessage | { failure: unknown }> {
  try {
    yield* prepared;
  } catch (failure) {
    yield { failure };
  }
}

/**
 * Records per group commit. Each commit rewrites the pages of the stream index that its appends touch, one per
 * VM reporting: at 10,000 records rather than the 1,500 or so a tick gathered, the appending thread wrote 45%
 * fewer bytes (bench:accounting).
 */
export const GROUP_RECORDS = 10_000;

/**
 * Ingests messages in order, in groups of at least `groupRecords` records
 * (the last may be smaller): a group's appends are issued together, so they
 * land in the log in order (last received wins) and the embedded store
 * commits them in one transaction. At most two groups are in flight: one
 * committing while the next is prepared. `onIngested` runs as each message
 * completes, in order; a message that fails stops the ingest at its turn,
 * after the ones before it completed. `prepare` says where messages are parsed;
 * `alongside` gives appends that go in the same call as a message's own.
 */
export async function ingestMany(
  log: EventLog,
  messages: Iterable<IncomingMessage>,
  options: PrepareOptions & {
    groupRecords?: number;
    onIngested?: (name: string, result: IngestResult) => void;
    prepare?: MessagePreparer;
    alongside?: (name: string) => readonly StreamEvent[];
  },
): Promise<IngestResult> {
  const { groupRecords = GROUP_RECORDS, onIngested, prepare = prepareInThread, alongside, ...prepareOptions } = options;
  let total = EMPTY_RESULT;
  let collecting: PreparedMessage[] = [];
  let collected = 0;
  let issued: { name: string; result: Promise<IngestResult> }[] = [];
  const settle = async (group: typeof issued) => {
    for (const { name, result } of group) {
      const r = await result;
      onIngested?.(name, r);
      total = addResults(total, r);
    }
  };
  /** Issues the collected messages, then waits for the group issued before them. */
  const issue = async () => {
    const group = collecting.map((p) => ({ name: p.name, result: appendPrepared(log, p, alongside?.(p.name)) }));
    // Keep each rejection handled until its turn comes, so one bad message cannot crash the process early.
    for (const { result } of group) result.catch(() => undefined);
    collecting = [];
    collected = 0;
    const previous = issued;
    issued = group;
    await settle(previous);
  };
  for await (const prepared of inTurn(prepare(messages, prepareOptions))) {
    if ('failure' in prepared) {
      await issue();
      await settle(issued);
      throw prepared.failure;
    }
    collecting.push(prepared);
    collected += prepared.appends.length + prepared.quarantined.length;
    if (collected >= groupRecords) await issue();
  }
  await issue();
  await settle(issued);
  return total;
}

/**
 * APEL messages parsed on a thread of their own (`ingest apel`): parsing and
 * building events is about half of what an ingest costs, and on its own
 * thread it runs beside the appends (bench:accounting). Messages go over in
 * batches, a few batches ahead, and come back in order.
 */
import { FedledgerError, UserError } from '../errors.ts';
import { SerializedEvent, SharedJsonObjects } from '../eventlog/port.ts';
import { startModuleWorker } from '../module-worker.ts';
import { type ParseRequest, split, type WireAppends, type WireError, type WirePreparation } from './apel-parse-wire.ts';
import type { IncomingMessage, IngestOptions, MessagePreparer, Preparation, StreamAppend } from './apel-service.ts';

/**
 * Messages per batch sent to the thread. Fewer than one batch are better parsed on the calling thread: the
 * thread takes about a quarter of a second to start (it loads the TypeScript sources through tsx).
 */
export const MESSAGES_PER_BATCH = 16;
/**
 * Message text sent ahead of the answers taken, in UTF-16 code units: about 5,000 records of cASO-sized messages,
 * and a bound on what the answers hold whatever the size of the messages. In paired pipeline runs (bench:accounting)
 * 4 Mi did best: 1 Mi starved the appending thread (46,000 records/s against 58,000-60,000), and 16 Mi cost 1 GB more
 * peak RSS and half as much system time again (52,500 records/s).
 */
const AHEAD_TEXT = 4 * 2 ** 20;

/** Metadata texts repeat (one per event type and version): each is parsed once, and the object shared. */
const metadata = new SharedJsonObjects();

function appendsOf(wire: WireAppends): StreamAppend[] {
  const kinds = wire.kinds.map(({ type, metadataJson }) => ({
    type,
    metadata: metadataJson === null ? undefined : metadata.of(metadataJson),
  }));
  const ids = split(wire.ids);
  return split(wire.streams).map((stream, i) => {
    const { type, metadata } = kinds[wire.kind[i]!]!;
    return { stream, event: new SerializedEvent(ids[i]!, type, wire.dataJson[i]!, metadata) };
  });
}

function errorOf(wire: WireError): Error {
  const error = wire.code
    ? new (wire.user ? UserError : FedledgerError)(wire.code, wire.message, wire.location)
    : new Error(wire.message);
  if (wire.stack) error.stack = wire.stack;
  return error;
}

function preparationOf(wire: WirePreparation): Preparation {
  if ('error' in wire) return { name: wire.name, error: errorOf(wire.error) };
  return { ...wire, appends: appendsOf(wire.appends), quarantined: appendsOf(wire.quarantined) };
}

/** A `MessagePreparer` for `ingestMany`: one parser thread for the run, closed when the messages are done. */
export const prepareOnThread: MessagePreparer = (messages, options) =>
  prepareOnThreadRunning(new URL('./apel-parse-thread.ts', import.meta.url), messages, options);

/** The same, with the thread's body given (tests give it one that fails). */
export async function* prepareOnThreadRunning(
  body: URL,
  messages: Iterable<IncomingMessage>,
  options: Omit<IngestOptions, 'messageName'>,
): AsyncGenerator<Preparation> {
  const worker = startModuleWorker(body, null);
  const waiting: { resolve: (w: WirePreparation[]) => void; reject: (e: unknown) => void }[] = [];
  /** Once the thread has failed, every batch still waiting, and any sent later, fails with its error. */
  let failure: unknown;
  const failAll = (error: unknown) => {
    failure ??= error;
    for (const w of waiting.splice(0)) w.reject(failure);
  };
  worker.on('message', (answer: WirePreparation[]) => waiting.shift()?.resolve(answer));
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`APEL parser thread exited (${code})`)));
  const source = messages[Symbol.iterator]();
  let exhausted = false;
  const answers: { answer: Promise<WirePreparation[]>; text: number }[] = [];
  let textAhead = 0;
  const send = () => {
    const batch: IncomingMessage[] = [];
    let text = 0;
    while (!exhausted && batch.length < MESSAGES_PER_BATCH) {
      const next = source.next();
      if (next.done) exhausted = true;
      else {
        batch.push({ name: next.value.name, text: next.value.text });
        text += next.value.text.length;
      }
    }
    if (batch.length === 0) return;
    const answer = new Promise<WirePreparation[]>((resolve, reject) =>
      failure === undefined ? waiting.push({ resolve, reject }) : reject(failure),
    );
    // Handled where it is awaited, in order; until then it must not count as unhandled.
    answer.catch(() => undefined);
    answers.push({ answer, text });
    textAhead += text;
    const request: ParseRequest = { messages: batch, options };
    worker.postMessage(request);
  };
  const fill = () => {
    while (!exhausted && textAhead < AHEAD_TEXT) send();
  };
  try {
    fill();
    while (answers.length) {
      const { answer, text } = answers.shift()!;
      const wires = await answer;
      textAhead -= text;
      fill();
      for (const wire of wires) yield preparationOf(wire);
    }
  } finally {
    worker.removeAllListeners('exit');
    await worker.terminate();
  }
}

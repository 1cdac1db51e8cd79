/**
 * The `MessagePreparer` that parses on a thread of its own (`ingest apel`
 * of a directory): parsing and encoding is about half of what an ingest
 * costs, and on its own thread it runs beside the appends
 * (bench:accounting). Messages go over in batches, a bounded amount of text
 * ahead, and their prepared messages come back in order, as they are
 * (structured clone). This module is also the thread's body.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { FedledgerError, type InputLocation, UserError } from '../../errors.ts';
import { startModuleWorker } from '../../module-worker.ts';
import { prepareApelMessage, type PreparedMessage } from '../apel-service.ts';
import type { IncomingMessage, MessagePreparer, PrepareOptions } from '../ingest-many.ts';

/**
 * Messages per batch sent to the thread. Fewer than one batch are better parsed on the calling thread: the
 * thread takes about a quarter of a second to start (it loads the TypeScript sources through tsx).
 */
export const MESSAGES_PER_BATCH = 16;
/**
 * Message text sent ahead of the answers taken, in UTF-16 code units: about 5,000 records of cASO-sized messages,
 * and a bound on what the answers hold whatever the size of the messages. In paired pipeline runs (bench:accounting)
 * 4 Mi did best: 1 Mi starved the appending thread, and 16 Mi cost 1 GB more peak RSS.
 */
const AHEAD_TEXT = 4 * 2 ** 20;

/** The worker data that makes this module, loaded on a thread, answer parse requests. */
const PARSER_THREAD = 'fedledger:apel-parser-thread';

interface ParseRequest {
  messages: IncomingMessage[];
  options: PrepareOptions;
}

/** An error as it crosses: structured clone keeps only an Error's message and stack, not fedledger's code. */
interface ThreadError {
  message: string;
  stack: string | undefined;
  code?: string;
  location?: InputLocation;
  user?: boolean;
}

type Answer = (PreparedMessage | { name: string; error: ThreadError })[];

export const prepareOnWorkerThread: MessagePreparer = (messages, options) =>
  prepareOnThreadRunning(new URL(import.meta.url), messages, options);

/** The same, with the thread's body given (tests give it one that fails); the body loads this module. */
export async function* prepareOnThreadRunning(
  body: URL,
  messages: Iterable<IncomingMessage>,
  options: PrepareOptions,
): AsyncGenerator<PreparedMessage> {
  const worker = startModuleWorker(body, PARSER_THREAD);
  const waiting: { resolve: (answer: Answer) => void; reject: (e: unknown) => void }[] = [];
  /** Once the thread has failed, every batch still waiting, and any sent later, fails with its error. */
  let failure: unknown;
  const failAll = (error: unknown) => {
    failure ??= error;
    for (const w of waiting.splice(0)) w.reject(failure);
  };
  worker.on('message', (answer: Answer) => waiting.shift()?.resolve(answer));
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`APEL parser thread exited (${code})`)));
  const source = messages[Symbol.iterator]();
  let exhausted = false;
  const answers: { answer: Promise<Answer>; text: number }[] = [];
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
    const answer = new Promise<Answer>((resolve, reject) =>
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
      const prepared = await answer;
      textAhead -= text;
      fill();
      for (const p of prepared) {
        if ('error' in p) throw errorOf(p.error);
        yield p;
      }
    }
  } finally {
    worker.removeAllListeners('exit');
    await worker.terminate();
  }
}

function threadError(error: unknown): ThreadError {
  const base = { message: error instanceof Error ? error.message : String(error), stack: (error as Error).stack };
  if (!(error instanceof FedledgerError)) return base;
  return { ...base, code: error.code, location: error.location, user: error instanceof UserError };
}

function errorOf(crossed: ThreadError): Error {
  const error = crossed.code
    ? new (crossed.user ? UserError : FedledgerError)(crossed.code, crossed.message, crossed.location)
    : new Error(crossed.message);
  if (crossed.stack) error.stack = crossed.stack;
  return error;
}

function prepareOne({ name, text }: IncomingMessage, options: PrepareOptions): Answer[number] {
  try {
    return prepareApelMessage(text, { ...options, messageName: name });
  } catch (error) {
    return { name, error: threadError(error) };
  }
}

if (!isMainThread && workerData === PARSER_THREAD) {
  const port = parentPort!;
  port.on('message', ({ messages, options }: ParseRequest) => {
    port.postMessage(messages.map((m) => prepareOne(m, options)));
  });
}

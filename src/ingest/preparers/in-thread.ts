/**
 * The `MessagePreparer` that parses each message on the calling thread, as
 * `ingestMany` takes it: for a few messages, where a parser thread would
 * take longer to start than they take to parse.
 */
import { prepareApelMessage, type PreparedMessage } from '../apel-service.ts';
import type { IncomingMessage, MessagePreparer, PrepareOptions } from '../ingest-many.ts';

export const prepareInThread: MessagePreparer = function* (
  messages: Iterable<IncomingMessage>,
  options: PrepareOptions,
): Generator<PreparedMessage> {
  for (const { name, text } of messages) yield prepareApelMessage(text, { ...options, messageName: name });
};

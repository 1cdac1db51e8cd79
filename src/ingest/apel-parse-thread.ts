/**
 * The body of the APEL parser thread (see apel-parse-worker.ts): it prepares
 * each batch of messages it is sent and answers, in order, with the events as
 * JSON text, which passes between threads at a fraction of the cost of the
 * objects.
 */
import { parentPort } from 'node:worker_threads';
import { FedledgerError, UserError } from '../errors.ts';
import { metadataJson } from '../eventlog/port.ts';
import {
  joined,
  type ParseRequest,
  type WireAppends,
  type WireError,
  type WirePreparation,
} from './apel-parse-wire.ts';
import { type IncomingMessage, prepareApelMessage, type StreamAppend } from './apel-service.ts';

function wire(appends: readonly StreamAppend[]): WireAppends {
  const streams: string[] = [];
  const ids: string[] = [];
  const out: Omit<WireAppends, 'streams' | 'ids'> = { dataJson: [], kind: [], kinds: [] };
  const kindOf = new Map<string, number>();
  for (const { stream, event } of appends) {
    streams.push(stream);
    ids.push(event.id);
    out.dataJson.push(event.dataJson ?? JSON.stringify(event.data));
    const meta = event.metadata ? metadataJson(event.metadata) : null;
    const key = `${event.type}\n${meta}`;
    let kind = kindOf.get(key);
    if (kind === undefined) {
      kind = out.kinds.push({ type: event.type, metadataJson: meta }) - 1;
      kindOf.set(key, kind);
    }
    out.kind.push(kind);
  }
  return { ...out, streams: joined(streams), ids: joined(ids) };
}

function wireError(error: unknown): WireError {
  const base = { message: error instanceof Error ? error.message : String(error), stack: (error as Error).stack };
  if (!(error instanceof FedledgerError)) return base;
  return { ...base, code: error.code, location: error.location, user: error instanceof UserError };
}

function prepare({ name, text }: IncomingMessage, options: ParseRequest['options']): WirePreparation {
  try {
    const prepared = prepareApelMessage(text, { ...options, messageName: name });
    return { ...prepared, appends: wire(prepared.appends), quarantined: wire(prepared.quarantined) };
  } catch (error) {
    return { name, error: wireError(error) };
  }
}

const port = parentPort!;
port.on('message', ({ messages, options }: ParseRequest) => {
  port.postMessage(messages.map((m) => prepare(m, options)));
});

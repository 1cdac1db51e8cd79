/**
 * The body of the APEL parser thread (see apel-parse-worker.ts): it prepares
 * each batch of messages it is sent and answers, in order, with the events as
 * JSON text, which passes between threads at a fraction of the cost of the
 * objects.
 */
import { parentPort } from 'node:worker_threads';
import { FedledgerError, type InputLocation, UserError } from '../errors.ts';
import { metadataJson } from '../eventlog/port.ts';
import {
  type IncomingMessage,
  type IngestError,
  type IngestOptions,
  prepareApelMessage,
  type StreamAppend,
} from './apel-service.ts';

export interface ParseRequest {
  messages: IncomingMessage[];
  options: Omit<IngestOptions, 'messageName'>;
}

/**
 * A message's appends as parallel arrays: passing them between threads costs about a third of what an object per
 * append does (the serialiser writes every object's keys).
 */
export interface WireAppends {
  streams: string[];
  ids: string[];
  dataJson: string[];
  /** Each append's type and metadata, as an index into `kinds`: the events of a list share one, sent once. */
  kind: number[];
  /** Metadata as JSON text, null for none. */
  kinds: { type: string; metadataJson: string | null }[];
}

export interface WireError {
  message: string;
  stack: string | undefined;
  /** Set for fedledger's own errors, which are rebuilt as such on the other side. */
  code?: string;
  location?: InputLocation;
  user?: boolean;
}

export type WirePreparation =
  | { name: string; appends: WireAppends; quarantined: WireAppends; rejected: number; errors: IngestError[] }
  | { name: string; error: WireError };

function wire(appends: readonly StreamAppend[]): WireAppends {
  const out: WireAppends = { streams: [], ids: [], dataJson: [], kind: [], kinds: [] };
  const kindOf = new Map<string, number>();
  for (const { stream, event } of appends) {
    out.streams.push(stream);
    out.ids.push(event.id);
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
  return out;
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

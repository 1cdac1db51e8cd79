/**
 * The body of the APEL parser thread (see apel-parse-worker.ts): it prepares
 * each batch of messages it is sent and answers, in order, with the events as
 * JSON text, which passes between threads at a fraction of the cost of the
 * objects.
 */
import { parentPort } from 'node:worker_threads';
import { FedledgerError, type InputLocation, UserError } from '../errors.ts';
import type { JsonObject } from '../eventlog/port.ts';
import { type IngestError, type IngestOptions, prepareApelMessage, type StreamAppend } from './apel-service.ts';

export interface ParseRequest {
  messages: { name: string; text: string }[];
  options: Omit<IngestOptions, 'messageName'>;
}

export interface WireAppend {
  stream: string;
  id: string;
  type: string;
  dataJson: string;
  metadata: JsonObject | undefined;
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
  | { name: string; appends: WireAppend[]; quarantined: WireAppend[]; rejected: number; errors: IngestError[] }
  | { name: string; error: WireError };

const wire = ({ stream, event }: StreamAppend): WireAppend => ({
  stream,
  id: event.id,
  type: event.type,
  dataJson: event.dataJson ?? JSON.stringify(event.data),
  metadata: event.metadata,
});

function wireError(error: unknown): WireError {
  const base = { message: error instanceof Error ? error.message : String(error), stack: (error as Error).stack };
  if (!(error instanceof FedledgerError)) return base;
  return { ...base, code: error.code, location: error.location, user: error instanceof UserError };
}

function prepare({ name, text }: { name: string; text: string }, options: ParseRequest['options']): WirePreparation {
  try {
    const prepared = prepareApelMessage(text, { ...options, messageName: name });
    return { ...prepared, appends: prepared.appends.map(wire), quarantined: prepared.quarantined.map(wire) };
  } catch (error) {
    return { name, error: wireError(error) };
  }
}

const port = parentPort!;
port.on('message', ({ messages, options }: ParseRequest) => {
  port.postMessage(messages.map((m) => prepare(m, options)));
});

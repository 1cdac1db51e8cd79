/**
 * What crosses between the APEL parser thread (apel-parse-thread.ts) and the
 * thread that appends (apel-parse-worker.ts): requests of messages, and
 * answers of each message's appends as parallel arrays of text.
 */
import type { InputLocation } from '../errors.ts';
import type { IncomingMessage, IngestError, IngestOptions } from './apel-service.ts';

export interface ParseRequest {
  messages: IncomingMessage[];
  options: Omit<IngestOptions, 'messageName'>;
}

/**
 * A message's appends as parallel arrays: passing them between threads costs about a third of what an object per
 * append does (the serialiser writes every object's keys).
 */
export interface WireAppends {
  streams: JoinedStrings;
  ids: JoinedStrings;
  dataJson: string[];
  /** Each append's type and metadata, as an index into `kinds`: the events of a list share one, sent once. */
  kind: number[];
  /** Metadata as JSON text, null for none. */
  kinds: { type: string; metadataJson: string | null }[];
}

/**
 * Short strings sent as one: the serialiser pays for each string it writes, and ids and stream names are ropes it
 * must flatten first. Sending a message's ids and stream names joined halved what passing its appends cost the
 * parser thread (a micro-benchmark of fresh answers: 0.75-1.45 µs a record, 0.45-0.77 joined).
 */
export interface JoinedStrings {
  text: string;
  /** Where each string ends in `text`. */
  ends: number[];
}

export function joined(strings: readonly string[]): JoinedStrings {
  let end = 0;
  return { text: strings.join(''), ends: strings.map((s) => (end += s.length)) };
}

/** The strings `joined` joined, as slices of its text. */
export function split({ text, ends }: JoinedStrings): string[] {
  let from = 0;
  return ends.map((end) => text.slice(from, (from = end)));
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

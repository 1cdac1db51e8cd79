/**
 * Appends events bound for many streams: one append per stream, in one
 * `appendMany`, so the embedded store commits them in one transaction.
 */
import type { EncodedEvent } from '../events/codec.ts';
import type { EventLog } from './port.ts';

/** An event and the stream it goes to. */
export interface StreamEvent {
  stream: string;
  event: EncodedEvent;
}

/** Returns how many of the events were new to the log. */
export async function appendByStream(log: EventLog, items: readonly StreamEvent[]): Promise<number> {
  const byStream = new Map<string, EncodedEvent[]>();
  for (const { stream, event } of items) {
    const list = byStream.get(stream);
    if (list) list.push(event);
    else byStream.set(stream, [event]);
  }
  const results = await log.appendMany([...byStream].map(([stream, events]) => ({ stream, events })));
  return results.reduce((n, r) => n + r.written, 0);
}

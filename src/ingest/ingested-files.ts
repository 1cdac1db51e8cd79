/**
 * Which message files an event store has ingested, kept in that store (one
 * `ApelFileIngested` per file, on one stream): a directory ingested into a
 * fresh store is read whole, into the same store only for files whose content
 * it has not seen, and the input folder is never written to for it.
 */
import { createHash } from 'node:crypto';
import { FedledgerError } from '../errors.ts';
import type { StreamEvent } from '../eventlog/append-by-stream.ts';
import type { EventLog } from '../eventlog/port.ts';
import { streams } from '../events/catalogue.ts';
import { decode, encode } from '../events/codec.ts';

export interface IngestedFile {
  path: string;
  /** null: read earlier in the current run. */
  ingestedAt: string | null;
}

/** Content hash → the first file ingested with that content. */
export type IngestedFiles = Map<string, IngestedFile>;

export const contentHashOf = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export async function loadIngestedFiles(log: EventLog): Promise<IngestedFiles> {
  const files: IngestedFiles = new Map();
  try {
    for await (const stored of log.readStream(streams.ingestedFiles())) {
      const event = decode(stored);
      if (event.type !== 'ApelFileIngested' || files.has(event.data.contentHash)) continue;
      files.set(event.data.contentHash, { path: event.data.path, ingestedAt: event.data.ingestedAt });
    }
  } catch (error) {
    if (!(error instanceof FedledgerError && error.code === 'STREAM_NOT_FOUND')) throw error;
  }
  return files;
}

/** The append that records a file as ingested; it goes in the same call as the file's records. */
export function fileIngestedAppend(path: string, contentHash: string, at: Date): StreamEvent {
  return {
    stream: streams.ingestedFiles(),
    event: encode('ApelFileIngested', { path, contentHash, ingestedAt: at.toISOString() }, [contentHash]),
  };
}

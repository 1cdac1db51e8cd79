/**
 * Message bytes to text at the boundary, refusing invalid UTF-8 line by line
 * instead of letting it become U+FFFD (two different byte strings would read
 * as one VMUUID). Valid input, nearly all of it, takes one validation pass
 * and one decode; only a message that fails validation is decoded line by
 * line, to say which lines hold invalid bytes.
 */
import { isUtf8 } from 'node:buffer';

export interface DecodedText {
  text: string;
  /** 1-based numbers of the lines that are not valid UTF-8 (shown with U+FFFD in `text`), in order. */
  invalidLines: number[];
}

const LF = 0x0a;
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder('utf-8', { ignoreBOM: true });

export function decodeUtf8Lines(bytes: Uint8Array): DecodedText {
  if (isUtf8(bytes))
    return { text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), invalidLines: [] };
  const parts: string[] = [];
  const invalidLines: number[] = [];
  let line = 1;
  for (let start = 0; start <= bytes.length; line++) {
    const lf = bytes.indexOf(LF, start);
    const end = lf === -1 ? bytes.length : lf;
    const slice = bytes.subarray(start, end);
    try {
      parts.push(strict.decode(slice));
    } catch {
      invalidLines.push(line);
      parts.push(lenient.decode(slice));
    }
    start = end + 1;
  }
  return { text: parts.join('\n'), invalidLines };
}

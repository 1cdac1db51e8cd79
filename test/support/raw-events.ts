import { randomUUID } from 'node:crypto';
import type { EncodedEvent } from '../../src/events/codec.ts';
import type { JsonObject } from '../../src/eventlog/port.ts';

/** An event of any type, catalogued or not, as the port takes it: the stores' own tests append arbitrary payloads. */
export function rawEvent(type: string, data: JsonObject, id: string = randomUUID(), schemaVersion = 1): EncodedEvent {
  return { id, type, schemaVersion, dataJson: JSON.stringify(data) };
}

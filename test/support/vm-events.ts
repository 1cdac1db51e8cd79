import { streams as catalogueStreams } from '../../src/events/catalogue.ts';
import { type EncodedEvent, encode } from '../../src/events/codec.ts';

/** `n` distinct VmStateChanged events for one VM; `from` keeps ids distinct across calls. */
export function vmStateEvents(vmUuid: string, n: number, from = 0): EncodedEvent[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const at = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
    return encode(
      'VmStateChanged',
      {
        vmUuid,
        siteName: 'TEST-SITE',
        state: i % 2 ? 'started' : 'suspended',
        previousState: null,
        at,
        source: 'test',
      },
      [vmUuid, i],
    );
  });
}

/**
 * The catalogue's stream names, but a test VM's stream is `vm-<VMUUID>`: the runner's tests count events per
 * stream name, which is opaque to the runner, and keep naming them so.
 */
export const streams = { ...catalogueStreams, vm: (vmUuid: string) => `vm-${vmUuid}` };

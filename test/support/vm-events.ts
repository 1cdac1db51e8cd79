import { newEvent, streams as catalogueStreams } from '../../src/events/catalogue.ts';
import type { NewEvent } from '../../src/eventlog/port.ts';

const SITE = 'TEST-SITE';

/** `n` distinct VmStateChanged events for one VM; `from` keeps ids distinct across calls. */
export function vmStateEvents(vmUuid: string, n: number, from = 0): NewEvent[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const at = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
    return newEvent(
      'VmStateChanged',
      {
        vmUuid,
        siteName: SITE,
        state: i % 2 ? 'started' : 'suspended',
        previousState: null,
        at,
        source: 'test',
      },
      [vmUuid, i],
    );
  });
}

/** The catalogue's stream names, with a VM's stream at the site of `vmStateEvents`. */
export const streams = { ...catalogueStreams, vm: (vmUuid: string) => catalogueStreams.vm(SITE, vmUuid) };

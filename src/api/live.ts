/**
 * Turns the availability runner's batch commits into change notices for SSE
 * subscribers: which sites and endpoints changed, at which log position.
 * Closing it aborts every open subscription (graceful shutdown).
 */
import { EventEmitter } from 'node:events';
import { endpointSites } from '../../projections/availability/topology.ts';
import type { BatchCommitted, ProjectionRunner } from '../projection/runner.ts';

export interface AvailabilityCommit {
  position: bigint;
  sites: string[];
  endpoints: Array<{ key: string; site: string | null }>;
}

export class LiveChanges extends EventEmitter<{ availability: [AvailabilityCommit] }> {
  private readonly aborter = new AbortController();
  private readonly detach: () => void;

  constructor(availability: ProjectionRunner | undefined) {
    super();
    this.setMaxListeners(0);
    if (!availability) {
      this.detach = () => {};
      return;
    }
    const siteOf = endpointSites(availability.db);
    const listener = (commit: BatchCommitted) => {
      const sites = new Set<string>();
      const endpoints: AvailabilityCommit['endpoints'] = [];
      for (const topic of commit.topics) {
        if (topic.startsWith('site:')) sites.add(topic.slice(5));
        else if (topic.startsWith('endpoint:')) {
          const key = topic.slice(9);
          const slash = key.lastIndexOf('/');
          const site = siteOf(key.slice(0, slash), key.slice(slash + 1));
          endpoints.push({ key, site });
          if (site) sites.add(site);
        }
      }
      if (sites.size > 0) this.emit('availability', { position: commit.position, sites: [...sites].sort(), endpoints });
    };
    availability.on('committed', listener);
    this.detach = () => availability.off('committed', listener);
  }

  /** Aborted when the server shuts down. */
  get signal(): AbortSignal {
    return this.aborter.signal;
  }

  close(): void {
    this.detach();
    this.aborter.abort();
  }
}

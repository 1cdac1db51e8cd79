/**
 * Prometheus metrics: request latency, ingested records by outcome (rates
 * come from Prometheus's rate()), and each projection's checkpoint, lag and
 * failures, read at scrape time.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ProjectionRunner } from '../projection/runner.ts';
import { INTEGRATION_STATES, type IntegrationState } from '../integration/status.ts';

export class ApiMetrics {
  readonly registry = new Registry();
  readonly requestSeconds = new Histogram({
    name: 'fedledger_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  readonly ingested = new Counter({
    name: 'fedledger_ingested_records_total',
    help: 'Records received over HTTP, by input kind and outcome (accepted, unchanged, rejected)',
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor(runners: ReadonlyMap<string, ProjectionRunner>) {
    collectDefaultMetrics({ register: this.registry, prefix: 'fedledger_' });
    const checkpoint = new Gauge({
      name: 'fedledger_projection_checkpoint',
      help: 'Last log position applied by each projection',
      labelNames: ['projection'] as const,
      registers: [this.registry],
    });
    new Gauge({
      name: 'fedledger_projection_lag_positions',
      help: 'Log positions between the head of the events a projection reads and its checkpoint',
      labelNames: ['projection'] as const,
      registers: [this.registry],
      async collect() {
        for (const [name, runner] of runners) {
          const head = await runner.head();
          const position = runner.checkpoint;
          checkpoint.set({ projection: name }, Number(position));
          this.set({ projection: name }, Number(head > position ? head - position : 0n));
        }
      },
    });
    new Gauge({
      name: 'fedledger_projection_failing',
      help: 'Whether a projection cannot apply its events (1: failing and being retried, see /readyz for why)',
      labelNames: ['projection'] as const,
      registers: [this.registry],
      collect() {
        for (const [name, runner] of runners) this.set({ projection: name }, runner.failure ? 1 : 0);
      },
    });
    new Counter({
      name: 'fedledger_projection_failures_total',
      help: 'Failed attempts to apply a batch of events, per projection, since the process started',
      labelNames: ['projection'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [name, runner] of runners) this.inc({ projection: name }, runner.failures);
      },
    });
  }

  /** fedledger_sites_integration{state}: how many sites are in each integration state, computed at scrape time. */
  countIntegrationStates(states: () => Promise<ReadonlyArray<{ state: IntegrationState }>>): void {
    new Gauge({
      name: 'fedledger_sites_integration',
      help: 'Sites per integration state (not started, partial, integrated, lapsed; see docs/onboarding.md)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      async collect() {
        const sites = await states();
        for (const state of INTEGRATION_STATES) this.set({ state }, sites.filter((s) => s.state === state).length);
      },
    });
  }

  countIngest(kind: 'apel' | 'probes', result: { accepted: number; unchanged: number; rejected: number }): void {
    for (const outcome of ['accepted', 'unchanged', 'rejected'] as const)
      if (result[outcome] > 0) this.ingested.inc({ kind, outcome }, result[outcome]);
  }
}

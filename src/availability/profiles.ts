/**
 * The three ARGO profiles as typed values, and the operations profile
 * compiled into lookup tables. Tenants may define their own states and
 * operations, so nothing here assumes egi_ops beyond the category rules in ar.ts.
 */
import { FedledgerError } from '../errors.ts';

export type State = string;

export interface OperationsProfile {
  name: string;
  /** Effective from this UTC date (YYYY-MM-DD). */
  date: string;
  states: State[];
  defaults: { down: State; missing: State; unknown: State };
  /** Operation name → list of (a, b, x) rows, as published (one-sided). */
  tables: Record<string, Array<{ a: State; b: State; x: State }>>;
}

export interface AggregationProfile {
  name: string;
  date: string;
  metricOperation: string;
  profileOperation: string;
  /** Name of the metric profile it refers to, when given. */
  metricProfile: string | null;
  groups: Array<{ name: string; operation: string; services: Array<{ name: string; operation: string }> }>;
}

export interface MetricProfile {
  name: string;
  date: string;
  /** Service type → the metrics expected on each of its endpoints. */
  services: Record<string, string[]>;
}

export type Operation = (a: State, b: State) => State;

export interface CompiledOperations {
  profile: OperationsProfile;
  op(name: string): Operation;
}

/** Builds symmetric lookups from the truth tables; fails if a table misses a pair of declared states. */
export function compileOperations(profile: OperationsProfile): CompiledOperations {
  const compiled = new Map<string, Operation>();
  for (const [name, rows] of Object.entries(profile.tables)) {
    const table = new Map<string, State>();
    for (const { a, b, x } of rows) {
      table.set(`${a}\u0000${b}`, x);
      table.set(`${b}\u0000${a}`, x);
    }
    for (const a of profile.states)
      for (const b of profile.states)
        if (!table.has(`${a}\u0000${b}`))
          throw new FedledgerError(
            'PROFILE_INCOMPLETE',
            `operation ${name} of profile ${profile.name} has no row for ${a}, ${b}`,
          );
    compiled.set(name, (a, b) => {
      const x = table.get(`${a}\u0000${b}`);
      if (x === undefined) throw new FedledgerError('UNKNOWN_STATE', `operation ${name} has no row for ${a}, ${b}`);
      return x;
    });
  }
  return {
    profile,
    op(name) {
      const found = compiled.get(name);
      if (!found)
        throw new FedledgerError('UNKNOWN_OPERATION', `operations profile ${profile.name} has no operation ${name}`);
      return found;
    },
  };
}

/** The profiles in force on one day. */
export interface ProfileSet {
  operations: CompiledOperations;
  aggregation: AggregationProfile;
  metrics: MetricProfile;
}

/** Function groups and their operation for a service type, per the aggregation profile. */
export function serviceGroups(
  aggregation: AggregationProfile,
  service: string,
): Array<{ group: string; operation: string }> {
  const found: Array<{ group: string; operation: string }> = [];
  for (const g of aggregation.groups)
    for (const s of g.services) if (s.name === service) found.push({ group: g.name, operation: s.operation });
  return found;
}

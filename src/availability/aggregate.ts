/**
 * The aggregation levels of one UTC day: metrics → endpoint (metric
 * operation, then downtimes) → service type within a site (the service's
 * operation across endpoints) → function group (the group's operation) →
 * site (the profile operation). Only metrics of the metric profile and
 * services of the aggregation profile count.
 */
import { applyDowntimes } from './downtimes.ts';
import { type ProfileSet, type State, serviceGroups } from './profiles.ts';
import { type Point, type Timeline, combine, constant, metricTimeline } from './timeline.ts';

/** The metrics expected on an endpoint of this service type, or none if the service does not count. */
export function expectedMetrics(profiles: ProfileSet, service: string): string[] {
  if (serviceGroups(profiles.aggregation, service).length === 0) return [];
  return profiles.metrics.services[service] ?? [];
}

export interface MetricDay {
  /** Last status of the previous day, if the metric reported then. */
  seed: State | null;
  /** The day's results, sorted, in seconds from the day's start. */
  results: Point[];
}

/** An endpoint's day, or null when its service does not count. */
export function endpointDay(
  profiles: ProfileSet,
  service: string,
  metrics: ReadonlyMap<string, MetricDay>,
  downtimes: ReadonlyArray<[number, number]>,
): Timeline | null {
  const expected = expectedMetrics(profiles, service);
  if (expected.length === 0) return null;
  const { defaults } = profiles.operations.profile;
  const and = profiles.operations.op(profiles.aggregation.metricOperation);
  const timelines = expected.map((name) => {
    const m = metrics.get(name);
    return m ? metricTimeline(m.seed, defaults.missing, m.results, and) : constant(defaults.missing);
  });
  return applyDowntimes(combine(timelines, and), downtimes, defaults.down);
}

/** The last status of each metric's day, used to seed the next day. */
export function lastStatuses(profiles: ProfileSet, metrics: ReadonlyMap<string, MetricDay>): Map<string, State> {
  const and = profiles.operations.op(profiles.aggregation.metricOperation);
  const out = new Map<string, State>();
  for (const [name, m] of metrics) {
    if (m.results.length === 0) continue;
    const t = metricTimeline(null, profiles.operations.profile.defaults.missing, m.results, and);
    out.set(name, t[t.length - 1]!.state);
  }
  return out;
}

export interface SiteDay {
  services: Map<string, Timeline>;
  groups: Map<string, Timeline>;
  site: Timeline | null;
}

/** Combines a site's endpoint timelines into its service, function-group and site timelines. */
export function siteDay(
  profiles: ProfileSet,
  endpoints: ReadonlyArray<{ service: string; timeline: Timeline }>,
): SiteDay {
  const { aggregation, operations } = profiles;
  const byService = new Map<string, Timeline[]>();
  for (const e of endpoints) {
    if (serviceGroups(aggregation, e.service).length === 0) continue;
    const list = byService.get(e.service) ?? [];
    list.push(e.timeline);
    byService.set(e.service, list);
  }
  const services = new Map<string, Timeline>();
  for (const [service, timelines] of byService) {
    const operation = serviceGroups(aggregation, service)[0]!.operation;
    services.set(service, combine(timelines, operations.op(operation)));
  }
  const groups = new Map<string, Timeline>();
  for (const group of aggregation.groups) {
    const members = group.services.filter((s) => services.has(s.name)).map((s) => services.get(s.name)!);
    if (members.length) groups.set(group.name, combine(members, operations.op(group.operation)));
  }
  const site = groups.size ? combine([...groups.values()], operations.op(aggregation.profileOperation)) : null;
  return { services, groups, site };
}

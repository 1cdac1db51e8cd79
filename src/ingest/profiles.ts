/**
 * ARGO operations, aggregation and metric profiles in their JSON shapes: the
 * web API's `{status, data: [...]}` envelope or a bare profile object. The
 * kind is recognised by content. Pure: text → typed profiles, or a UserError
 * naming the profile and the field.
 */
import { z } from 'zod';
import { UserError } from '../errors.ts';
import type { AggregationProfile, MetricProfile, OperationsProfile } from '../availability/profiles.ts';

export type ParsedProfile =
  | { kind: 'operations'; profile: OperationsProfile; raw: Record<string, unknown> }
  | { kind: 'aggregation'; profile: AggregationProfile; raw: Record<string, unknown> }
  | { kind: 'metric'; profile: MetricProfile; raw: Record<string, unknown> };

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');
const name = z.string().min(1);

const operationsSchema = z.object({
  name,
  date,
  available_states: z.array(name).min(1),
  defaults: z.object({ down: name, missing: name, unknown: name }),
  operations: z.array(z.object({ name, truth_table: z.array(z.object({ a: name, b: name, x: name })).min(1) })).min(1),
});

const aggregationSchema = z.object({
  name,
  date,
  metric_operation: name,
  profile_operation: name,
  metric_profile: z.object({ name: z.string() }).partial().nullish(),
  groups: z
    .array(z.object({ name, operation: name, services: z.array(z.object({ name, operation: name })).min(1) }))
    .min(1),
});

const metricSchema = z.object({
  name,
  date,
  services: z.array(z.object({ service: name, metrics: z.array(name).min(1) })).min(1),
});

function kindOf(o: Record<string, unknown>): ParsedProfile['kind'] | undefined {
  if ('available_states' in o || 'operations' in o) return 'operations';
  if ('groups' in o || 'metric_operation' in o) return 'aggregation';
  if ('services' in o) return 'metric';
  return undefined;
}

function check<T>(schema: z.ZodType<T>, o: unknown, source: string, index: number, kind: string): T {
  const result = schema.safeParse(o);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.') || '(root)';
  throw new UserError('INVALID_PROFILE', `${source} profile #${index} (${kind}) field ${field}: ${issue.message}`, {
    message: source,
    record: index,
    field,
  });
}

/** Reads one profile object (as stored in a ProfilePublished event, or as published). */
export function parseProfileObject(o: unknown, source: string, index = 1): ParsedProfile {
  if (o === null || typeof o !== 'object' || Array.isArray(o))
    throw new UserError('INVALID_PROFILE', `${source} profile #${index}: not a JSON object`, {
      message: source,
      record: index,
    });
  const raw = o as Record<string, unknown>;
  const kind = kindOf(raw);
  if (kind === 'operations') {
    const p = check(operationsSchema, raw, source, index, kind);
    const states = new Set(p.available_states);
    for (const op of p.operations)
      for (const row of op.truth_table)
        for (const s of [row.a, row.b, row.x])
          if (!states.has(s))
            throw new UserError(
              'INVALID_PROFILE',
              `${source} profile #${index} (operations) operation ${op.name}: state ${s} is not in available_states`,
              {
                message: source,
                record: index,
                field: 'operations',
              },
            );
    return {
      kind,
      raw,
      profile: {
        name: p.name,
        date: p.date,
        states: p.available_states,
        defaults: p.defaults,
        tables: Object.fromEntries(p.operations.map((op) => [op.name, op.truth_table])),
      },
    };
  }
  if (kind === 'aggregation') {
    const p = check(aggregationSchema, raw, source, index, kind);
    return {
      kind,
      raw,
      profile: {
        name: p.name,
        date: p.date,
        metricOperation: p.metric_operation,
        profileOperation: p.profile_operation,
        metricProfile: p.metric_profile?.name || null,
        groups: p.groups,
      },
    };
  }
  if (kind === 'metric') {
    const p = check(metricSchema, raw, source, index, kind);
    const services: Record<string, string[]> = {};
    for (const s of p.services) services[s.service] = [...new Set([...(services[s.service] ?? []), ...s.metrics])];
    return { kind, raw, profile: { name: p.name, date: p.date, services } };
  }
  throw new UserError(
    'INVALID_PROFILE',
    `${source} profile #${index}: not an operations, aggregation or metric profile`,
    {
      message: source,
      record: index,
    },
  );
}

/** Reads a profile file: an API envelope with a `data` list, or one bare profile. */
export function parseProfiles(text: string, source: string): ParsedProfile[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UserError('INVALID_PROFILE', `${source}: not JSON: ${(e as Error).message}`, { message: source });
  }
  const envelope = value as { data?: unknown; status?: unknown } | null;
  if (
    envelope &&
    typeof envelope === 'object' &&
    !Array.isArray(envelope) &&
    Array.isArray(envelope.data) &&
    'status' in envelope
  )
    return envelope.data.map((o, i) => parseProfileObject(o, source, i + 1));
  return [parseProfileObject(value, source)];
}

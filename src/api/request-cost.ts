/**
 * What one request may cost, checked from its arguments before anything
 * runs: the day span of A/R and timeline ranges (per granularity), the days
 * all its root fields add up to, and the length of filter lists. Aliases,
 * directives, depth and graphql-armor's cost are checked at validation; rows
 * per answer by the resolvers (`rowLimit`). Every refusal is LIMIT_EXCEEDED
 * naming the argument, the limit and its setting.
 */
import {
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  type DocumentNode,
  type FieldNode,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { ServeConfig } from './config.ts';

export type CostLimits = Pick<ServeConfig, 'maxDailySpanDays' | 'maxSpanDays' | 'maxRequestDays' | 'maxFilterValues'>;

export interface RootField {
  /** The schema field (not the alias). */
  name: string;
  args: Record<string, unknown>;
}

export function limitExceeded(message: string, argument: string, limit: number, setting: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'LIMIT_EXCEEDED', argument, limit, setting } });
}

const DAY_MS = 86_400_000;

/** Whole days from `from` to `to`, both included; undefined when either is not a day (the resolver says so). */
export function spanDays(from: unknown, to: unknown): number | undefined {
  const day = (v: unknown) =>
    typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) ? Date.parse(`${v}T00:00:00Z`) : Number.NaN;
  const first = day(from);
  const last = day(to);
  if (Number.isNaN(first) || Number.isNaN(last) || last < first) return undefined;
  return (last - first) / DAY_MS + 1;
}

function checkSpan(field: RootField, limits: CostLimits): number {
  const days = spanDays(field.args['from'], field.args['to']);
  if (days === undefined) return 0;
  const daily = field.name === 'statusTimelines' || field.args['granularity'] === 'daily';
  const [limit, setting] = daily ? [limits.maxDailySpanDays, 'maxDailySpanDays'] : [limits.maxSpanDays, 'maxSpanDays'];
  if (days > limit)
    throw limitExceeded(
      `${field.name}: from ${String(field.args['from'])} to ${String(field.args['to'])} is ${days} days; at most ${limit} days ${daily ? `at daily resolution` : 'per query'}`,
      'to',
      limit,
      setting,
    );
  const levels = field.args['levels'];
  return days * (Array.isArray(levels) && levels.length > 0 ? levels.length : 1);
}

function checkFilterLists(field: RootField, limits: CostLimits): void {
  const filter = field.args['filter'];
  if (typeof filter !== 'object' || filter === null) return;
  for (const [key, value] of Object.entries(filter))
    if (Array.isArray(value) && value.length > limits.maxFilterValues)
      throw limitExceeded(
        `${field.name}: filter.${key} has ${value.length} values; at most ${limits.maxFilterValues}`,
        `filter.${key}`,
        limits.maxFilterValues,
        'maxFilterValues',
      );
}

/** Throws LIMIT_EXCEEDED when a root field or the request as a whole would cost more than the limits allow. */
export function checkRequestCost(fields: readonly RootField[], limits: CostLimits): void {
  let days = 0;
  for (const field of fields) {
    checkFilterLists(field, limits);
    if (field.name === 'availability' || field.name === 'statusTimelines') days += checkSpan(field, limits);
  }
  if (days > limits.maxRequestDays)
    throw limitExceeded(
      `the request's ranges add up to ${days} days (times levels); at most ${limits.maxRequestDays} in one request`,
      'from',
      limits.maxRequestDays,
      'maxRequestDays',
    );
}

/** The operation's root fields with their arguments (variables substituted); empty when validation will fail anyway. */
export function rootFields(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): RootField[] {
  const operation = getOperationAST(document, operationName);
  const root = operation && schema.getRootType(operation.operation);
  if (!operation || !root) return [];
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {});
  if (coerced.errors) return [];
  const fragments = new Map(
    document.definitions.flatMap((d) => (d.kind === 'FragmentDefinition' ? [[d.name.value, d] as const] : [])),
  );
  const out: RootField[] = [];
  const visit = (set: SelectionSetNode, seen: Set<string>) => {
    for (const s of set.selections) {
      if (s.kind === 'InlineFragment') visit(s.selectionSet, seen);
      else if (s.kind === 'FragmentSpread') {
        const fragment = fragments.get(s.name.value);
        if (fragment && !seen.has(s.name.value)) visit(fragment.selectionSet, new Set([...seen, s.name.value]));
      } else {
        const def = root.getFields()[s.name.value];
        if (def) out.push({ name: def.name, args: getArgumentValues(def, s as FieldNode, coerced.coerced) });
      }
    }
  };
  visit(operation.selectionSet, new Set());
  return out;
}

/** Refuses a request over the limits before it executes. */
export function requestCostPlugin(limits: CostLimits): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      try {
        checkRequestCost(
          rootFields(args.schema, args.document, args.operationName, args.variableValues as Record<string, unknown>),
          limits,
        );
      } catch (error) {
        if (!(error instanceof GraphQLError)) throw error;
        setResultAndStopExecution({ errors: [error] });
      }
    },
  };
}

/** Throws LIMIT_EXCEEDED when an answer would hold more than `maxRows` rows. */
export function checkRows(field: string, rows: number, maxRows: number, argument: string): void {
  if (rows > maxRows)
    throw limitExceeded(
      `${field} would answer more than ${maxRows} rows, the most one answer may hold: narrow ${argument}`,
      argument,
      maxRows,
      'maxRows',
    );
}

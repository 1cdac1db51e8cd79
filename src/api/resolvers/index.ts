/** The executable schema: graphql/*.graphql plus the resolvers of each family. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { GraphQLScalarType, Kind } from 'graphql';
import { createSchema } from 'graphql-yoga';
import { packagePath } from '../../package-files.ts';
import type { ApiContext } from '../context.ts';
import type { Resolvers } from '../generated/graphql.ts';
import { accountingResolvers } from './accounting.ts';
import { adminResolvers } from './admin.ts';
import { availabilityResolvers } from './availability.ts';
import { integrationResolvers } from './integration.ts';

export const SCHEMA_DIR = packagePath('graphql');

export function schemaSource(): string {
  return readdirSync(SCHEMA_DIR)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readFileSync(path.join(SCHEMA_DIR, f), 'utf8'))
    .join('\n');
}

/** 64-bit integers as decimal strings: JSON numbers lose precision past 2^53. */
const BigIntScalar = new GraphQLScalarType({
  name: 'BigInt',
  serialize: (value) => {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'number' && Number.isInteger(value)) return String(value);
    if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
    throw new TypeError(`BigInt cannot represent ${String(value)}`);
  },
  parseValue: (value) => {
    if ((typeof value === 'string' && /^-?\d+$/.test(value)) || (typeof value === 'number' && Number.isInteger(value)))
      return String(value);
    throw new TypeError('BigInt must be an integer or a string of digits');
  },
  parseLiteral: (ast) => {
    if (ast.kind === Kind.INT || (ast.kind === Kind.STRING && /^-?\d+$/.test(ast.value))) return ast.value;
    throw new TypeError('BigInt must be an integer or a string of digits');
  },
});

/** Fields beyond the root ones whose resolvers read a read model or the log (the others read their parent). */
const QUEUED_FIELDS: Record<string, readonly string[]> = {
  SummaryRow: ['vmMonths'],
  VmMonth: ['records', 'warnings'],
  Site: ['endpoints', 'glue2'],
};

type Resolve = (parent: unknown, args: unknown, ctx: ApiContext, info: unknown) => unknown;

/** Every query and mutation field, and the fields above, runs as a turn of the work queue (work-queue.ts). */
function queued(resolvers: Resolvers): Resolvers {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [type, fields] of Object.entries(resolvers) as Array<[string, Record<string, unknown>]>) {
    const all = type === 'Query' || type === 'Mutation';
    out[type] = Object.fromEntries(
      Object.entries(fields).map(([name, resolve]) => {
        if (typeof resolve !== 'function' || !(all || QUEUED_FIELDS[type]?.includes(name))) return [name, resolve];
        const wrapped: Resolve = (parent, args, ctx, info) =>
          ctx.services.work.run(ctx.signal, () => (resolve as Resolve)(parent, args, ctx, info));
        return [name, wrapped];
      }),
    );
  }
  return out as Resolvers;
}

function merge(...parts: Resolvers[]): Resolvers {
  const out: Record<string, Record<string, unknown>> = {};
  for (const part of parts)
    for (const [type, fields] of Object.entries(part))
      out[type] = { ...out[type], ...(fields as Record<string, unknown>) };
  return out as Resolvers;
}

export function buildSchema() {
  return createSchema<ApiContext>({
    typeDefs: schemaSource(),
    resolvers: [
      queued(merge(adminResolvers, accountingResolvers, availabilityResolvers, integrationResolvers)),
      { BigInt: BigIntScalar },
    ] as never,
  });
}

/** The executable schema: graphql/*.graphql plus the resolvers of each family. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphQLScalarType, Kind } from 'graphql';
import { createSchema } from 'graphql-yoga';
import type { ApiContext } from '../context.ts';
import type { Resolvers } from '../generated/graphql.ts';
import { accountingResolvers } from './accounting.ts';
import { adminResolvers } from './admin.ts';
import { availabilityResolvers } from './availability.ts';

export const SCHEMA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../graphql');

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
    resolvers: [merge(adminResolvers, accountingResolvers, availabilityResolvers), { BigInt: BigIntScalar }] as never,
  });
}

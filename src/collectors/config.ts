/**
 * Collector configuration: which VM managers to pull from, when, and with
 * which credentials. Secrets are never written in the file itself: the file
 * names an environment variable or a file that holds each one.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { validateCronExpression } from 'cron';
import { z } from 'zod';
import { UserError } from '../errors.ts';

/** Where a secret lives: an environment variable or a file (first line, trimmed). */
const secretRef = z.union([
  z.object({ env: z.string().min(1) }).strict(),
  z.object({ file: z.string().min(1) }).strict(),
]);
export type SecretRef = z.infer<typeof secretRef>;

const cronExpression = z
  .string()
  .refine((e) => validateCronExpression(e).valid, { message: 'not a valid cron expression' });

const common = {
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only'),
  site: z.string().min(1),
  cron: cronExpression.default('10 * * * *'),
  /** Per HTTP request. */
  timeoutMs: z.number().int().positive().default(30_000),
  retries: z.number().int().nonnegative().default(3),
  backoffMs: z.number().int().nonnegative().default(1_000),
  cloudComputeService: z.string().nullable().default(null),
};

const openstackAuth = z.discriminatedUnion('method', [
  z
    .object({
      method: z.literal('password'),
      username: z.string().min(1),
      userDomain: z.string().default('Default'),
      password: secretRef,
      projectDomain: z.string().default('Default'),
    })
    .strict(),
  z
    .object({
      method: z.literal('application_credential'),
      id: z.string().min(1),
      secret: secretRef,
    })
    .strict(),
]);

const openstackSource = z
  .object({
    ...common,
    kind: z.literal('openstack'),
    /** Keystone v3 base URL, e.g. https://keystone.example.org:5000/v3 */
    keystoneUrl: z.url(),
    auth: openstackAuth,
    /** Project ids to account. */
    projects: z.array(z.string().min(1)).default([]),
    /** Also account every project carrying this Keystone tag (cASO's convention is "caso"). */
    projectTag: z.string().min(1).nullable().default(null),
    /** VO for projects that carry no VO property. */
    defaultVo: z.string().nullable().default(null),
    region: z.string().nullable().default(null),
    interface: z.enum(['public', 'internal', 'admin']).default('public'),
    pageSize: z.number().int().positive().max(1000).default(200),
  })
  .strict()
  .refine((s) => s.projects.length > 0 || s.projectTag !== null, {
    message: 'give projects, a projectTag, or both',
  });

const opennebulaSource = z
  .object({
    ...common,
    kind: z.literal('opennebula'),
    /** XML-RPC endpoint, e.g. http://one.example.org:2633/RPC2 */
    rpcUrl: z.url(),
    username: z.string().min(1),
    password: secretRef,
    /** OpenNebula group name → VO; a group not listed is its own VO name. */
    groupVo: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export const collectorSourceSchema = z.union([openstackSource, opennebulaSource]);
export type OpenStackSource = z.infer<typeof openstackSource>;
export type OpenNebulaSource = z.infer<typeof opennebulaSource>;
export type CollectorSource = z.infer<typeof collectorSourceSchema>;

export const collectorConfigSchema = z
  .object({ sources: z.array(collectorSourceSchema) })
  .refine((c) => new Set(c.sources.map((s) => s.name)).size === c.sources.length, {
    message: 'source names must be unique',
  });
export type CollectorConfig = z.infer<typeof collectorConfigSchema>;

/** Validates an already-parsed configuration document; `where` names it in errors. */
export function parseCollectorConfig(doc: unknown, where: string): CollectorConfig {
  const result = collectorConfigSchema.safeParse(doc);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.join('.');
    throw new UserError('BAD_COLLECTOR_CONFIG', `${where}: ${field || '(root)'}: ${issue.message}`, {
      message: where,
      field,
    });
  }
  return result.data;
}

/** Reads the file given by `--config` or FEDLEDGER_COLLECTORS (JSON or YAML, by extension). */
export function loadCollectorConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): CollectorConfig {
  const chosen = file ?? env['FEDLEDGER_COLLECTORS'];
  if (!chosen)
    throw new UserError(
      'NO_COLLECTOR_CONFIG',
      'no collector configuration: pass --config <file> or set FEDLEDGER_COLLECTORS',
    );
  let text: string;
  try {
    text = readFileSync(chosen, 'utf8');
  } catch (error) {
    throw new UserError('BAD_COLLECTOR_CONFIG', `cannot read ${chosen}: ${(error as Error).message}`, {
      message: chosen,
    });
  }
  let doc: unknown;
  try {
    doc = /\.ya?ml$/i.test(path.extname(chosen)) ? yaml.load(text) : JSON.parse(text);
  } catch (error) {
    throw new UserError('BAD_COLLECTOR_CONFIG', `${chosen}: ${(error as Error).message}`, { message: chosen });
  }
  return parseCollectorConfig(doc, chosen);
}

/**
 * `fedledger serve` configuration: defaults, then a JSON or YAML file
 * (`--config` or FEDLEDGER_CONFIG), then environment variables, then flags.
 * Validated once at start; an invalid value stops the server with an error
 * naming the source and the field.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { z } from 'zod';
import { UserError } from '../errors.ts';
import { amsConfigSchema } from '../integrations/ams/config.ts';

const schema = z
  .object({
    port: z.coerce.number().int().min(0).max(65_535).default(4000),
    host: z.string().min(1).default('0.0.0.0'),
    dataDir: z.string().min(1).default('data'),
    eventstoreUrl: z.string().url().optional(),
    /** /readyz fails while a projection is more than this many log positions behind the head. */
    readyMaxLag: z.coerce.number().int().nonnegative().default(1000),
    maxDepth: z.coerce.number().int().min(2).default(10),
    maxCost: z.coerce.number().int().min(10).default(20_000),
    maxPageSize: z.coerce.number().int().min(1).default(500),
    defaultPageSize: z.coerce.number().int().min(1).default(50),
    requestTimeoutMs: z.coerce.number().int().min(100).default(10_000),
    /** Request limits checked before a query runs (docs/api.md, Limits). */
    maxTokens: z.coerce.number().int().min(100).default(2000),
    maxAliases: z.coerce.number().int().min(1).default(20),
    maxDirectives: z.coerce.number().int().min(1).default(20),
    maxDailySpanDays: z.coerce.number().int().min(1).default(366),
    maxSpanDays: z.coerce.number().int().min(1).default(3660),
    maxRequestDays: z.coerce.number().int().min(1).default(18_300),
    /** Five filter lists of this many values stay under SQLite's 32,766 bound parameters. */
    maxFilterValues: z.coerce.number().int().min(1).max(6000).default(1000),
    maxRows: z.coerce.number().int().min(1).default(10_000),
    /** GraphQL requests executing at once; past it, 503 OVERLOADED. */
    maxConcurrentQueries: z.coerce.number().int().min(1).default(64),
    /** Token bucket per token: sustained requests per second and burst; 0 turns rate limiting off. */
    rateLimitPerSecond: z.coerce.number().nonnegative().default(20),
    rateLimitBurst: z.coerce.number().int().min(1).default(100),
    /** Largest body a push (`POST /v1/apel/cloud`, `POST /v1/probes`) may have; larger ones get 413. */
    maxPushBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .default(10 * 2 ** 20),
    shutdownGraceMs: z.coerce.number().int().min(0).default(10_000),
    /** max-age of cacheable GET query responses; ETags make revalidation cheap either way. */
    cacheMaxAgeSeconds: z.coerce.number().int().nonnegative().default(5),
    /**
     * A cached GET answer is reused until a projection commits or this window ends: only the
     * running A/R of today drifts between commits, and by at most this many seconds.
     */
    cacheWindowSeconds: z.coerce.number().int().min(1).default(60),
    graphiql: z.coerce.boolean().default(true),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** GOCDB programmatic interface to pull topology and downtimes from, on `gocdbCron` (UTC). */
    gocdbUrl: z.string().url().optional(),
    gocdbCron: z.string().min(9).default('17 * * * *'),
    /** Collector configuration file (sources and their cron expressions); the collectors run on schedule when set. */
    collectors: z.string().min(1).optional(),
    /** Writes the technical board's monthly and quarterly reports under `<dataDir>/reports/` on their schedule. */
    reportSchedule: z.preprocess((v) => (v === 'false' || v === '0' ? false : v), z.coerce.boolean()).default(true),
    /** A site's integration status: accounting silent for longer than this many days fails its check. */
    integrationSilentAfterDays: z.coerce.number().int().min(1).default(7),
    /** The ARGO Messaging Service: SSM receive, summaries to the portal, GLUE 2.1 (docs/integrations.md). */
    ams: amsConfigSchema.optional(),
  })
  .strict()
  .refine((c) => c.defaultPageSize <= c.maxPageSize, {
    message: 'must not exceed maxPageSize',
    path: ['defaultPageSize'],
  });

export type ServeConfig = z.infer<typeof schema>;

/** Environment variable → config key. */
const ENV: Record<string, keyof ServeConfig> = {
  PORT: 'port',
  HOST: 'host',
  FEDLEDGER_DATA_DIR: 'dataDir',
  EVENTSTORE_URL: 'eventstoreUrl',
  FEDLEDGER_READY_MAX_LAG: 'readyMaxLag',
  FEDLEDGER_MAX_DEPTH: 'maxDepth',
  FEDLEDGER_MAX_COST: 'maxCost',
  FEDLEDGER_MAX_PAGE_SIZE: 'maxPageSize',
  FEDLEDGER_REQUEST_TIMEOUT_MS: 'requestTimeoutMs',
  FEDLEDGER_MAX_ROWS: 'maxRows',
  FEDLEDGER_RATE_LIMIT: 'rateLimitPerSecond',
  FEDLEDGER_RATE_BURST: 'rateLimitBurst',
  FEDLEDGER_MAX_PUSH_BYTES: 'maxPushBytes',
  FEDLEDGER_LOG_LEVEL: 'logLevel',
  FEDLEDGER_GOCDB_URL: 'gocdbUrl',
  FEDLEDGER_GOCDB_CRON: 'gocdbCron',
  FEDLEDGER_COLLECTORS: 'collectors',
  FEDLEDGER_REPORT_SCHEDULE: 'reportSchedule',
  FEDLEDGER_INTEGRATION_SILENT_AFTER_DAYS: 'integrationSilentAfterDays',
};

function readFileConfig(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError('CONFIG_UNREADABLE', `cannot read config file ${file}: ${(error as Error).message}`, {
      message: file,
    });
  }
  let parsed: unknown;
  try {
    parsed = /\.json$/i.test(file) ? JSON.parse(text) : yaml.load(text);
  } catch (error) {
    throw new UserError(
      'CONFIG_INVALID',
      `config file ${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
      { message: file },
    );
  }
  if (parsed === undefined || parsed === null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed))
    throw new UserError('CONFIG_INVALID', `config file ${file} must hold a mapping of settings`, { message: file });
  return parsed as Record<string, unknown>;
}

export function loadServeConfig(
  flags: {
    config?: string | undefined;
    port?: string | number | undefined;
    host?: string | undefined;
    dataDir?: string | undefined;
  },
  env: NodeJS.ProcessEnv = process.env,
): ServeConfig {
  const file = flags.config ?? env['FEDLEDGER_CONFIG'];
  const raw: Record<string, unknown> = file ? readFileConfig(file) : {};
  const origin: Record<string, string> = Object.fromEntries(Object.keys(raw).map((k) => [k, `config file ${file}`]));
  for (const [name, key] of Object.entries(ENV)) {
    const value = env[name];
    if (value !== undefined && value !== '') {
      raw[key] = value;
      origin[key] = `environment variable ${name}`;
    }
  }
  for (const [key, value] of Object.entries({ port: flags.port, host: flags.host, dataDir: flags.dataDir })) {
    if (value !== undefined) {
      raw[key] = value;
      origin[key] = `option --${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    }
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0] ?? (issue.code === 'unrecognized_keys' ? issue.keys[0] : ''));
    const where = origin[key] ?? 'configuration';
    const detail =
      issue.code === 'unrecognized_keys'
        ? `unknown setting ${[...issue.path, issue.keys.join(', ')].join('.')}`
        : `${issue.path.join('.') || key}: ${issue.message}`;
    throw new UserError('CONFIG_INVALID', `invalid configuration (${where}): ${detail}`, {
      ...(file ? { message: file } : {}),
      field: issue.path.join('.') || key,
    });
  }
  return { ...result.data, dataDir: path.resolve(result.data.dataDir) };
}

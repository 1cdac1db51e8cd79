/**
 * The `ams` block of the serve configuration (docs/integrations.md): the AMS
 * service, fedledger's own certificate, and one section per integration
 * (receive, send, glue). The token is read from FEDLEDGER_AMS_TOKEN, the
 * block's `tokenFile`, or `token`, in that order, so it need not sit in the file.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { UserError } from '../../errors.ts';
import type { AmsEndpoint } from './client.ts';
import type { Credentials } from './smime.ts';

const cron = z.string().min(9);
const project = z.string().min(1).optional();

export const amsConfigSchema = z
  .object({
    url: z.string().url(),
    /** The AMS project of every section that names none. */
    project: z.string().min(1),
    token: z.string().min(1).optional(),
    tokenFile: z.string().min(1).optional(),
    auth: z.enum(['header', 'query']).default('header'),
    /** fedledger's certificate and key (PEM): signs what it sends, decrypts what is encrypted to it. */
    certificate: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    receive: z
      .object({
        project,
        subscription: z.string().min(1),
        /** `maxMessages` of each pull. */
        batchSize: z.coerce.number().int().min(1).max(1000).default(100),
        /** Pulls per run at most, so one run cannot go on for ever while sites keep publishing. */
        maxBatches: z.coerce.number().int().min(1).default(100),
        cron: cron.default('*/10 * * * *'),
        /** Hashed directory of trusted CA certificates (`openssl rehash`), as /etc/grid-security/certificates. */
        trustedCaDir: z.string().min(1),
        /** Refuse certificates revoked by the CRLs in trustedCaDir (kept current by fetch-crl); every CA then needs one. */
        checkCrls: z.boolean().default(false),
        /** DN → sites it may publish for, beside GOCDB's HOSTDN of the sites' endpoints. */
        signers: z.record(z.string().min(1), z.array(z.string().min(1))).default({}),
      })
      .strict()
      .optional(),
    send: z
      .object({
        project,
        topic: z.string().min(1),
        cron: cron.default('40 2 * * *'),
        /** The portal's certificate: when set, messages are also encrypted to it, as SSM's `encrypt_cert`. */
        encryptTo: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    glue: z
      .object({
        /** cloud-info-provider publishes to the `egi_cloud_info` project. */
        project,
        /** Topic per site; `{site}` and `{gocdbId}` are replaced. */
        topic: z.string().min(1).default('SITE_{site}_ENDPOINT_{gocdbId}'),
        cron: cron.default('15 * * * *'),
        /** The endpoint's Authentication (cloud-info-provider's `--os-auth-type`). */
        authentication: z.string().min(1).default('oidc'),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((c) => (c.certificate === undefined) === (c.key === undefined), {
    message: 'certificate and key go together',
    path: ['certificate'],
  });

export type AmsConfig = z.infer<typeof amsConfigSchema>;

export type AmsSection = 'receive' | 'send' | 'glue';

export class AmsConfigError extends UserError {
  constructor(detail: string) {
    super('AMS_CONFIG', `ams configuration: ${detail}`, { field: 'ams' });
  }
}

function token(config: AmsConfig, env: NodeJS.ProcessEnv): string {
  const fromEnv = env['FEDLEDGER_AMS_TOKEN'];
  if (fromEnv) return fromEnv;
  if (config.tokenFile !== undefined) {
    try {
      return readFileSync(config.tokenFile, 'utf8').trim();
    } catch (error) {
      throw new AmsConfigError(`cannot read tokenFile ${config.tokenFile}: ${(error as Error).message}`);
    }
  }
  if (config.token !== undefined) return config.token;
  throw new AmsConfigError('no token: set FEDLEDGER_AMS_TOKEN, tokenFile or token');
}

/** The AMS endpoint a section talks to. */
export function amsEndpoint(config: AmsConfig, section: AmsSection, env: NodeJS.ProcessEnv = process.env): AmsEndpoint {
  return {
    url: config.url,
    project: config[section]?.project ?? config.project,
    token: token(config, env),
    auth: config.auth,
  };
}

/** fedledger's own certificate and key; `purpose` names what needs them in the error. */
export function ownCredentials(config: AmsConfig, purpose: string): Credentials {
  if (config.certificate === undefined || config.key === undefined)
    throw new AmsConfigError(`${purpose} needs fedledger's certificate and key (ams.certificate, ams.key)`);
  return { certificate: config.certificate, key: config.key };
}

/** The section, or an error saying it is not configured. */
export function section<S extends AmsSection>(config: AmsConfig | undefined, name: S): NonNullable<AmsConfig[S]> {
  const found = config?.[name];
  if (found === undefined) throw new AmsConfigError(`no ams.${name} section is configured`);
  return found as NonNullable<AmsConfig[S]>;
}

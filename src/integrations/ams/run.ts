/**
 * The AMS integrations as configured (the `ams` block): what `fedledger
 * receive`, `send` and `publish glue2` run once, and the jobs `serve`
 * schedules. Each checks its section and credentials when it starts.
 */
import type { EventLog } from '../../eventlog/port.ts';
import type Database from 'better-sqlite3';
import type { SummaryRow } from '../../accounting/summary.ts';
import { querySummaries } from '../../../projections/accounting/queries.ts';
import type { Job } from '../../jobs/scheduler.ts';
import { AmsClient } from './client.ts';
import { amsEndpoint, ownCredentials, section, type AmsConfig } from './config.ts';
import { publishGlue, type GluePublication } from './glue-publish.ts';
import { receiveFromAms, type ReceiveSummary } from './receive.ts';
import { planSend, sendPlan, type SendPlan, type SendSummary } from './send.ts';
import { loadSignerSites } from './signers.ts';

export interface AmsRunOptions {
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
}

export async function receiveConfigured(
  log: EventLog,
  config: AmsConfig | undefined,
  options: AmsRunOptions = {},
): Promise<ReceiveSummary> {
  const receive = section(config, 'receive');
  const client = new AmsClient(amsEndpoint(config!, 'receive', options.env));
  const own = config!.certificate === undefined ? {} : { own: ownCredentials(config!, 'decrypting') };
  return receiveFromAms(log, client, {
    ...receive,
    ...own,
    signerSites: await loadSignerSites(log, receive.signers),
    ...(options.now ? { now: options.now } : {}),
  });
}

/** The send's plan; published unless `dryRun`. */
export async function sendConfigured(
  log: EventLog,
  config: AmsConfig | undefined,
  rows: readonly SummaryRow[],
  options: AmsRunOptions & { dryRun?: boolean } = {},
): Promise<{ plan: SendPlan; sent: SendSummary | null }> {
  const send = section(config, 'send');
  const own = ownCredentials(config!, 'sending summaries');
  const plan = await planSend(log, rows);
  if (options.dryRun || plan.messages.length === 0) return { plan, sent: null };
  const client = new AmsClient(amsEndpoint(config!, 'send', options.env));
  const sent = await sendPlan(log, client, plan, {
    topic: send.topic,
    own,
    ...(send.encryptTo ? { encryptTo: send.encryptTo } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  return { plan, sent };
}

export async function publishGlueConfigured(
  log: EventLog,
  config: AmsConfig | undefined,
  options: AmsRunOptions & { dryRun?: boolean; site?: string } = {},
): Promise<GluePublication[]> {
  const glue = section(config, 'glue');
  const client = options.dryRun ? null : new AmsClient(amsEndpoint(config!, 'glue', options.env));
  return publishGlue(log, client, {
    topic: glue.topic,
    authentication: glue.authentication,
    ...(options.site === undefined ? {} : { site: options.site }),
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
}

/** The scheduled jobs of the configured sections; `accounting` gives the accounting read model, caught up. */
export function amsJobs(
  config: AmsConfig | undefined,
  log: EventLog,
  accounting: () => Promise<Database.Database>,
  options: AmsRunOptions = {},
): Job[] {
  if (!config) return [];
  const jobs: Job[] = [];
  if (config.receive)
    jobs.push({
      name: 'ams-receive',
      cron: config.receive.cron,
      run: () => receiveConfigured(log, config, options),
    });
  if (config.send)
    jobs.push({
      name: 'ams-send',
      cron: config.send.cron,
      run: async () => {
        const { plan, sent } = await sendConfigured(log, config, querySummaries(await accounting()), options);
        return sent ?? { months: plan.months.length, messages: 0 };
      },
    });
  if (config.glue)
    jobs.push({
      name: 'ams-glue2',
      cron: config.glue.cron,
      run: async () =>
        (await publishGlueConfigured(log, config, options)).map(({ siteName, topic, messageId }) => ({
          siteName,
          topic,
          messageId,
        })),
    });
  return jobs;
}

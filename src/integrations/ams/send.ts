/**
 * Sending summaries to the accounting portal as APEL's unloader and SSM do:
 * the summaries of every site-month that changed since it was last sent
 * become APEL-cloud-summary-message v0.4 messages of at most 1,000 records,
 * each signed with fedledger's certificate (and encrypted to the portal's
 * when configured) and published to the portal's AMS topic. What went out
 * is recorded as one SummariesSent per site-month, so the next send skips a
 * month whose summaries have not changed. A crash between publishing and
 * recording sends those months again: the portal keeps one summary per key,
 * so a repeat replaces rather than adds.
 */
import { createHash } from 'node:crypto';
import type { EventLog } from '../../eventlog/port.ts';
import { streams, type EventData } from '../../events/catalogue.ts';
import { encode } from '../../events/codec.ts';
import { MAX_RECORDS_PER_MESSAGE, summaryMessages } from '../../accounting/render.ts';
import type { SummaryRow } from '../../accounting/summary.ts';
import type { AmsClient } from './client.ts';
import { encryptSmime, signSmime, type Credentials } from './smime.ts';

/** The summaries of one site's month, and the hash that says whether they changed. */
export interface SiteMonth {
  siteName: string;
  /** YYYY-MM. */
  month: string;
  rows: SummaryRow[];
  contentHash: string;
}

const monthOf = (r: SummaryRow) => `${r.year}-${String(r.month).padStart(2, '0')}`;
const keyOf = (siteName: string, month: string) => `${siteName}\u0000${month}`;

/** Rows grouped by site and month, in the rows' order, each with the sha256 of its records as the message has them. */
export function siteMonths(rows: readonly SummaryRow[]): SiteMonth[] {
  const groups = new Map<string, { siteName: string; month: string; rows: SummaryRow[] }>();
  for (const row of rows) {
    const month = monthOf(row);
    const key = keyOf(row.siteName, month);
    const group = groups.get(key);
    if (group) group.rows.push(row);
    else groups.set(key, { siteName: row.siteName, month, rows: [row] });
  }
  return [...groups.values()].map((g) => ({
    ...g,
    // The records as sent (one message, so no framing splits them): the same rows hash the same whatever their count.
    contentHash: createHash('sha256').update(summaryMessages(g.rows, Number.MAX_SAFE_INTEGER)[0]!).digest('hex'),
  }));
}

/** The site-months whose hash differs from the one last sent (or that were never sent). */
export function changedSince(months: readonly SiteMonth[], lastSent: ReadonlyMap<string, string>): SiteMonth[] {
  return months.filter((m) => lastSent.get(keyOf(m.siteName, m.month)) !== m.contentHash);
}

/** The hash last sent for each site-month, from the log. */
export async function lastSentHashes(log: EventLog): Promise<Map<string, string>> {
  const sent = new Map<string, string>();
  for await (const e of log.readAll({ filter: { eventTypes: ['SummariesSent'] } })) {
    const d = e.data as EventData<'SummariesSent'>;
    sent.set(keyOf(d.siteName, d.month), d.contentHash);
  }
  return sent;
}

export interface SendPlan {
  months: SiteMonth[];
  /** The messages before signing, each with the rows it carries. */
  messages: Array<{ text: string; rows: SummaryRow[] }>;
}

/** What a send would publish: the changed months' rows, in messages of at most `perMessage` records. */
export async function planSend(
  log: EventLog,
  rows: readonly SummaryRow[],
  perMessage = MAX_RECORDS_PER_MESSAGE,
): Promise<SendPlan> {
  const months = changedSince(siteMonths(rows), await lastSentHashes(log));
  const changed = months.flatMap((m) => m.rows);
  const messages: SendPlan['messages'] = [];
  for (let i = 0; i < changed.length; i += perMessage) {
    const part = changed.slice(i, i + perMessage);
    messages.push({ text: summaryMessages(part, perMessage)[0]!, rows: part });
  }
  return { months, messages };
}

export interface SendSettings {
  topic: string;
  own: Credentials;
  /** The portal's certificate, to encrypt to. */
  encryptTo?: string;
  now?: () => Date;
}

export interface SendSummary {
  months: number;
  records: number;
  messages: number;
  messageIds: string[];
}

/** An SSM-style message id for the `empaid` attribute: the message's own hash, so a repeat has the same one. */
const empaid = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 32);

/** Publishes a plan, one message at a time, then records each site-month as sent. */
export async function sendPlan(
  log: EventLog,
  client: AmsClient,
  plan: SendPlan,
  settings: SendSettings,
): Promise<SendSummary> {
  const now = settings.now ?? (() => new Date());
  const ids: string[] = [];
  const carriers = new Map<string, Set<string>>();
  for (const { text, rows } of plan.messages) {
    const signed = await signSmime(text, settings.own);
    const data = settings.encryptTo ? await encryptSmime(signed, settings.encryptTo) : signed;
    const [id] = await client.publish(settings.topic, [{ data, attributes: { empaid: empaid(text) } }]);
    ids.push(id!);
    for (const row of rows) {
      const key = keyOf(row.siteName, monthOf(row));
      carriers.set(key, (carriers.get(key) ?? new Set()).add(id!));
    }
  }
  const sentAt = now().toISOString();
  await log.appendMany(
    plan.months.map((m) => {
      const data: EventData<'SummariesSent'> = {
        siteName: m.siteName,
        month: m.month,
        contentHash: m.contentHash,
        records: m.rows.length,
        topic: settings.topic,
        messageIds: [...(carriers.get(keyOf(m.siteName, m.month)) ?? [])],
        sentAt,
      };
      return {
        stream: streams.summariesSent(m.siteName),
        events: [encode('SummariesSent', data, [m.siteName, m.month, m.contentHash, sentAt])],
      };
    }),
  );
  return {
    months: plan.months.length,
    records: plan.months.reduce((n, m) => n + m.rows.length, 0),
    messages: plan.messages.length,
    messageIds: ids,
  };
}

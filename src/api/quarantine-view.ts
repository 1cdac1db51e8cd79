/**
 * What a site's token may see of a quarantined message. A site's own pushes
 * hold only its records, but a message ingested by staff (a file, a regional
 * aggregator's batch) may carry several sites' records, and a record's lines
 * hold its user's DN, FQAN and durations.
 */
import { parseApelCloudMessage } from '../ingest/apel-message.ts';

/**
 * The message's whole text when every record in it names `site`; otherwise its header and `ownRecords` (the
 * site's quarantined records' lines), in APEL framing. A record whose SiteName cannot be read counts as another site's.
 */
function messageTextForSite(messageText: string, site: string, ownRecords: readonly string[]): string {
  const parsed = parseApelCloudMessage(messageText, 'quarantined message');
  const sites = [...parsed.records.map((r) => r.record.siteName), ...parsed.rejected.map((r) => r.siteName)];
  if (sites.every((s) => s === site)) return messageText;
  const header = messageText.split(/\r?\n/, 1)[0]!;
  return `${header}\n${ownRecords.map((r) => `${r.trim()}\n%%\n`).join('')}`;
}

/** Per message of a site's quarantined records, the text that site's token may see of it. */
export function messageTextsForSite(
  rows: ReadonlyArray<{ sourceMessageId: string; recordText: string; messageText: string }>,
  site: string,
): Map<string, string> {
  const own = new Map<string, string[]>();
  for (const q of rows) own.set(q.sourceMessageId, [...(own.get(q.sourceMessageId) ?? []), q.recordText]);
  const texts = new Map<string, string>();
  for (const q of rows)
    if (!texts.has(q.sourceMessageId))
      texts.set(q.sourceMessageId, messageTextForSite(q.messageText, site, own.get(q.sourceMessageId)!));
  return texts;
}

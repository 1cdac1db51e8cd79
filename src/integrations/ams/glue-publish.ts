/**
 * Publishing each site's GLUE 2.1 document to AMS as cloud-info-provider's
 * AMS publisher does: the JSON document, base64 in `data`, no attributes, not
 * signed (AMS's token is the authentication), one message per site on the
 * site's topic. Every run publishes every site again: a document is valid for
 * `Validity` seconds after its CreationTime, so consumers need it refreshed.
 */
import type { EventLog } from '../../eventlog/port.ts';
import type { Glue2Document } from '../../glue2/cloud-info.ts';
import { glue2Documents } from '../../glue2/snapshots.ts';
import type { AmsClient } from './client.ts';

/** A site's topic from the template: `{site}` and `{gocdbId}` replaced; null when the template needs an id the site lacks. */
export function glueTopic(template: string, siteName: string, gocdbId: string | null): string | null {
  if (template.includes('{gocdbId}') && gocdbId === null) return null;
  return template.replaceAll('{site}', siteName).replaceAll('{gocdbId}', gocdbId ?? '');
}

const gocdbIdOf = (doc: Glue2Document) => {
  const info = doc.CloudComputingService[0]?.['OtherInfo'] as { gocdb_id?: string | null } | undefined;
  return info?.gocdb_id ?? null;
};

export interface GluePublication {
  siteName: string;
  /** null: not published, because the topic template needs a GOCDB id the site has none of. */
  topic: string | null;
  bytes: number;
  /** AMS's id; null in a dry run or when not published. */
  messageId: string | null;
}

export interface GluePublishOptions {
  topic: string;
  authentication?: string;
  site?: string;
  dryRun?: boolean;
  now?: () => Date;
}

export async function publishGlue(
  log: EventLog,
  client: AmsClient | null,
  options: GluePublishOptions,
): Promise<GluePublication[]> {
  const creationTime = (options.now ?? (() => new Date()))().toISOString();
  const documents = await glue2Documents(log, options.site, {
    creationTime,
    ...(options.authentication ? { authentication: options.authentication } : {}),
  });
  const published: GluePublication[] = [];
  for (const [siteName, doc] of documents) {
    const topic = glueTopic(options.topic, siteName, gocdbIdOf(doc));
    const data = JSON.stringify(doc);
    const bytes = Buffer.byteLength(data);
    if (topic === null || options.dryRun || client === null) {
      published.push({ siteName, topic, bytes, messageId: null });
      continue;
    }
    const [messageId] = await client.publish(topic, [{ data, attributes: {} }]);
    published.push({ siteName, topic, bytes, messageId: messageId! });
  }
  return published;
}

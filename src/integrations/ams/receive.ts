/**
 * Receiving APEL messages from an AMS subscription as an SSM receiver does:
 * pull a batch, decrypt what is encrypted to fedledger, verify each
 * signature against the trusted CAs, accept a message only from a DN allowed
 * for every site it names, ingest it as any APEL message, and acknowledge
 * the batch only once its events are committed. A crash before the
 * acknowledgement makes AMS deliver the batch again, which the events'
 * content ids make harmless. Rejected messages go to quarantine with the
 * reason and the DN.
 */
import { createHash } from 'node:crypto';
import type { EventLog } from '../../eventlog/port.ts';
import { excerpt, RECORD_EXCERPT_CHARS, streams } from '../../events/catalogue.ts';
import { encode } from '../../events/codec.ts';
import { parseApelCloudMessage } from '../../ingest/apel-message.ts';
import { addResults, EMPTY_RESULT, ingestApelMessage, type IngestResult } from '../../ingest/apel-service.ts';
import { quarantinedMessage } from '../../ingest/quarantine.ts';
import { AmsError, type AmsClient, type PulledMessage } from './client.ts';
import { claimedSigner, decryptSmime, isEncrypted, SmimeError, verifySmime, type Credentials } from './smime.ts';

export type RejectionReason = 'undecryptable' | 'bad-signature' | 'unknown-signer' | 'wrong-site';

const REJECTION_CODES: Record<RejectionReason, string> = {
  undecryptable: 'AMS_UNDECRYPTABLE',
  'bad-signature': 'AMS_BAD_SIGNATURE',
  'unknown-signer': 'AMS_UNKNOWN_SIGNER',
  'wrong-site': 'AMS_WRONG_SITE',
};

export interface ReceiveSettings {
  subscription: string;
  batchSize: number;
  maxBatches: number;
  trustedCaDir: string;
  /** Check the CRLs in `trustedCaDir` (see smime.ts). */
  checkCrls?: boolean;
  /** fedledger's certificate and key, for messages encrypted to it. */
  own?: Credentials;
  /** DN → sites it may publish for (see signers.ts). */
  signerSites: ReadonlyMap<string, ReadonlySet<string>>;
  now?: () => Date;
}

export interface ReceiveSummary {
  pulled: number;
  /** Messages ingested (their records may still be rejected one by one, as in any APEL message). */
  ingested: number;
  records: IngestResult;
  rejected: Record<RejectionReason, number>;
  acknowledged: number;
  /** AMS refused an acknowledgement as too late: the batch comes again, and ingesting it again changes nothing. */
  ackTimedOut: boolean;
}

interface Rejection {
  reason: RejectionReason;
  /** What the quarantine keeps: the message as pulled, or its verified content when the signature held. */
  text: string;
  dn: string | null;
  detail: string;
  siteName: string | null;
  messageVersion: string | null;
}

type Outcome = { kind: 'accepted'; content: string; dn: string } | ({ kind: 'rejected' } & Rejection);

const describe = (m: PulledMessage) =>
  `AMS message ${m.messageId}${m.attributes['empaid'] ? ` (empaid ${m.attributes['empaid']})` : ''}`;

/** Decrypts, verifies and checks the signer of one message: no I/O beyond openssl. */
async function checkMessage(
  message: PulledMessage,
  settings: Pick<ReceiveSettings, 'trustedCaDir' | 'checkCrls' | 'own' | 'signerSites'>,
): Promise<Outcome> {
  const raw = message.data.toString('utf8');
  const reject = (r: Omit<Rejection, 'siteName' | 'messageVersion'> & Partial<Rejection>): Outcome => ({
    kind: 'rejected',
    siteName: null,
    messageVersion: null,
    ...r,
  });
  let signed = raw;
  if (isEncrypted(raw)) {
    if (!settings.own)
      return reject({
        reason: 'undecryptable',
        text: raw,
        dn: null,
        detail: 'it is encrypted, and no certificate and key are configured to decrypt it (ams.certificate, ams.key)',
      });
    try {
      signed = await decryptSmime(raw, settings.own);
    } catch (error) {
      if (!(error instanceof SmimeError)) throw error;
      return reject({ reason: 'undecryptable', text: raw, dn: null, detail: `cannot decrypt it: ${error.detail}` });
    }
  }
  let verified;
  try {
    verified = await verifySmime(signed, settings.trustedCaDir, { checkCrls: settings.checkCrls ?? false });
  } catch (error) {
    if (!(error instanceof SmimeError) || error.code === 'OPENSSL_MISSING') throw error;
    const claimed = await claimedSigner(signed);
    return reject({
      reason: 'bad-signature',
      text: raw,
      dn: claimed,
      detail: `its signature does not verify against the trusted CAs${claimed ? ` (it claims to be signed by ${claimed})` : ''}: ${error.detail}`,
    });
  }
  const { content, signerDn: dn } = verified;
  const allowed = settings.signerSites.get(dn);
  const parsed = parseApelCloudMessage(content, describe(message));
  if (!allowed)
    return reject({
      reason: 'unknown-signer',
      text: content,
      dn,
      messageVersion: parsed.version,
      detail: `signer ${dn} is not the HOSTDN of any site's endpoint in GOCDB, nor a configured signer`,
    });
  const sites = [...parsed.records.map((r) => r.record.siteName), ...parsed.rejected.map((r) => r.siteName)];
  const foreign = sites.find((s): s is string => s !== null && !allowed.has(s));
  if (foreign !== undefined)
    return reject({
      reason: 'wrong-site',
      text: content,
      dn,
      siteName: foreign,
      messageVersion: parsed.version,
      detail: `signer ${dn} may publish for ${[...allowed].sort().join(', ')}, not for SiteName ${JSON.stringify(foreign)}`,
    });
  return { kind: 'accepted', content, dn };
}

const publisherOf = (dn: string | null) => `ssm:${dn ?? 'unverified'}`;
/** A DN is the publisher only once the signature holds; a claimed one is only named in the reason. */
const verifiedDn = (r: Rejection) => (r.reason === 'bad-signature' || r.reason === 'undecryptable' ? null : r.dn);

/** Quarantines a rejected message whole: its text once, and one rejection naming the reason and the DN. */
async function quarantine(log: EventLog, message: PulledMessage, r: Rejection, receivedAt: string): Promise<void> {
  const sourceMessageId = createHash('sha256').update(r.text).digest('hex');
  const publisher = publisherOf(verifiedDn(r));
  const name = describe(message);
  const rejected = encode(
    'CloudRecordRejected',
    {
      sourceMessageId,
      recordIndex: null,
      line: null,
      lastLine: null,
      recordExcerpt: excerpt(r.text, RECORD_EXCERPT_CHARS),
      recordLength: r.text.length,
      messageVersion: r.messageVersion,
      errors: [
        {
          code: REJECTION_CODES[r.reason],
          message: `${name}: rejected (${r.reason}): ${r.detail}`,
          record: null,
          line: null,
          field: r.reason === 'wrong-site' ? 'SiteName' : 'signer',
          reason: r.detail,
        },
      ],
      receivedAt,
      publisher,
      siteName: r.siteName,
    },
    [sourceMessageId, null],
  );
  await log.appendMany([
    {
      stream: streams.quarantine(sourceMessageId),
      events: [
        quarantinedMessage({ sourceMessageId, input: 'apel-cloud', text: r.text, receivedAt, publisher }).event,
        rejected,
      ],
    },
  ]);
}

/** Pulls until the subscription is empty (or `maxBatches` pulls), acknowledging each batch once it is stored. */
export async function receiveFromAms(
  log: EventLog,
  client: AmsClient,
  settings: ReceiveSettings,
): Promise<ReceiveSummary> {
  const now = settings.now ?? (() => new Date());
  const summary: ReceiveSummary = {
    pulled: 0,
    ingested: 0,
    records: EMPTY_RESULT,
    rejected: { undecryptable: 0, 'bad-signature': 0, 'unknown-signer': 0, 'wrong-site': 0 },
    acknowledged: 0,
    ackTimedOut: false,
  };
  for (let batch = 0; batch < settings.maxBatches; batch++) {
    const messages = await client.pull(settings.subscription, settings.batchSize);
    if (messages.length === 0) break;
    summary.pulled += messages.length;
    for (const message of messages) {
      const outcome = await checkMessage(message, settings);
      const receivedAt = now();
      if (outcome.kind === 'rejected') {
        await quarantine(log, message, outcome, receivedAt.toISOString());
        summary.rejected[outcome.reason] += 1;
      } else {
        const result = await ingestApelMessage(log, outcome.content, {
          publisher: publisherOf(outcome.dn),
          messageName: describe(message),
          receivedAt,
        });
        summary.ingested += 1;
        summary.records = addResults(summary.records, result);
      }
    }
    try {
      await client.acknowledge(
        settings.subscription,
        messages.map((m) => m.ackId),
      );
    } catch (error) {
      if (!(error instanceof AmsError && error.code === 'AMS_ACK_TIMEOUT')) throw error;
      summary.ackTimedOut = true;
      break;
    }
    summary.acknowledged += messages.length;
    if (messages.length < settings.batchSize) break;
  }
  return summary;
}

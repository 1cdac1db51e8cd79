/** Accounting queries: summaries, VM-months, a VM's history, quarantine, quality warnings, re-submission. */
import { GraphQLError } from 'graphql';
import { formatYearMonth, measurementTime, yearMonthOf } from '../../accounting/measurement.ts';
import { FedledgerError } from '../../errors.ts';
import { streams } from '../../events/catalogue.ts';
import { decode } from '../../events/codec.ts';
import {
  type Dimension,
  findQuarantined,
  flagsOf,
  type QuarantineKey,
  quarantineKey,
  queryQualityFlags,
  queryQuarantine,
  summarise,
  type UsageFilter,
  type VmMonthKey,
  vmMonthKey,
  vmMonthPage,
  vmUuidSites,
  vmVos,
} from '../../../projections/accounting/queries.ts';
import { quarantinedMessageText, recordTextOf } from '../../ingest/quarantine.ts';
import { resubmitCorrected, SiteMismatchError } from '../../ingest/apel-service.ts';
import { usageFilter } from '../accounting.ts';
import { isoInstant, isoSeconds } from '../../instant.ts';
import { type ApiContext, readModel } from '../context.ts';
import type { AccountingFilter, Resolvers } from '../generated/graphql.ts';
import { accountingScope, forbidden, requireRole, siteOnly } from '../policy.ts';
import { messageTextsForSite } from '../quarantine-view.ts';
import { checkRows } from '../request-cost.ts';
import { decodeCursor, encodeCursor, pageSize } from './paging.ts';

const isListingKey = (v: unknown): v is [string, string, number] =>
  Array.isArray(v) && v.length === 3 && typeof v[0] === 'string' && typeof v[1] === 'string' && Number.isInteger(v[2]);
const isQuarantineKey: (v: unknown) => v is QuarantineKey = isListingKey;
const isVmMonthKey: (v: unknown) => v is VmMonthKey = isListingKey;

/** The caller's filter narrowed to its scope. */
function scopedFilter(ctx: ApiContext, filter: AccountingFilter | null | undefined): UsageFilter {
  const f = filter ?? {};
  const scope = accountingScope(ctx.principal, { sites: f.sites, vos: f.vos });
  return usageFilter({ ...f, ...scope });
}

function vmConnection(
  ctx: ApiContext,
  filter: UsageFilter,
  first: number | null | undefined,
  after: string | null | undefined,
) {
  const db = readModel(ctx.services, 'accounting');
  const page = vmMonthPage(db, filter, pageSize(ctx, first), after ? decodeCursor(after, isVmMonthKey) : undefined);
  const edges = page.rows.map((node) => ({ node, cursor: encodeCursor(vmMonthKey(node)) }));
  return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges[edges.length - 1]?.cursor ?? null } };
}

/**
 * The sites whose VM by this VMUUID the caller may see (a VMUUID names one VM per site): staff every one, a site
 * its own, a community those whose every month is in its VO.
 */
function readableVmSites(ctx: ApiContext, vmUuid: string, site: string | null | undefined): string[] {
  const { role, scope } = ctx.principal;
  const db = readModel(ctx.services, 'accounting');
  const sites = vmUuidSites(db, vmUuid).filter((s) => site === null || site === undefined || s === site);
  if (role === 'staff') return sites;
  if (role === 'site') {
    if (site !== null && site !== undefined && site !== scope) throw forbidden();
    return sites.filter((s) => s === scope);
  }
  if (role === 'community')
    return sites.filter((s) => {
      const vos = vmVos(db, s, vmUuid);
      return vos.length > 0 && vos.every((v) => v === scope);
    });
  return [];
}

async function vmEvents(ctx: ApiContext, siteName: string, vmUuid: string) {
  const out = [];
  try {
    for await (const e of ctx.services.log.readStream(streams.vm(siteName, vmUuid))) out.push(e);
  } catch (error) {
    if (!(error instanceof FedledgerError && error.code === 'STREAM_NOT_FOUND')) throw error;
  }
  return out;
}

const publicErrors = (
  errors: ReadonlyArray<{
    message: string;
    record: number | null;
    line: number | null;
    field: string | null;
    reason: string;
  }>,
) => errors.map((e) => ({ message: e.message, record: e.record, line: e.line, field: e.field, reason: e.reason }));

export const accountingResolvers: Resolvers = {
  Query: {
    accountingSummary: (_, { filter, groupBy }, ctx) => {
      const scoped = scopedFilter(ctx, filter);
      const { maxRows } = ctx.services.config;
      const db = readModel(ctx.services, 'accounting');
      const { rows, total } = summarise(db, scoped, groupBy as Dimension[], maxRows + 1);
      checkRows('accountingSummary', rows.length, maxRows, 'filter or groupBy');
      return { groupBy, total, rows: rows.map((r) => ({ ...r, filter: scoped })) };
    },
    vmMonths: (_, { filter, first, after }, ctx) => vmConnection(ctx, scopedFilter(ctx, filter), first, after),
    vmHistory: async (_, { vmUuid, site }, ctx) => {
      requireRole(ctx.principal, 'staff', 'site', 'community');
      const sites = readableVmSites(ctx, vmUuid, site);
      if (sites.length === 0) throw forbidden();
      const events = (await Promise.all(sites.map((s) => vmEvents(ctx, s, vmUuid)))).flat();
      events.sort((a, b) => (a.position < b.position ? -1 : 1));
      return events.map((e) => ({
        position: e.position,
        revision: e.revision,
        type: e.type,
        created: isoInstant(e.created),
        data: JSON.stringify(e.data),
      }));
    },
    quarantine: (_, { site, includeResolved, first, after }, ctx) => {
      const filter = { site: siteOnly(ctx.principal, site) ?? null, includeResolved: includeResolved ?? false };
      const size = pageSize(ctx, first);
      const rows = queryQuarantine(readModel(ctx.services, 'accounting'), filter, {
        ...(after ? { after: decodeCursor(after, isQuarantineKey) } : {}),
        limit: size + 1,
      });
      const hasNextPage = rows.length > size;
      if (hasNextPage) rows.pop();
      const edges = rows.map((q) => ({
        cursor: encodeCursor(quarantineKey(q)),
        node: {
          sourceMessageId: q.sourceMessageId,
          recordIndex: q.recordIndex,
          line: q.line,
          lastLine: q.lastLine,
          site: q.siteName,
          recordText: q.recordExcerpt,
          recordLength: q.recordLength,
          errors: publicErrors(q.errors),
          receivedAt: isoInstant(q.receivedAt),
          publisher: q.publisher,
          resolution: q.resolution,
        },
      }));
      return { edges, pageInfo: { hasNextPage, endCursor: edges[edges.length - 1]?.cursor ?? null } };
    },
    quarantinedMessage: async (_, { sourceMessageId }, ctx) => {
      const { principal } = ctx;
      requireRole(principal, 'staff', 'site');
      // A site's token must have a quarantined record in the message, and sees only its own records of a mixed one.
      const own =
        principal.role === 'site'
          ? queryQuarantine(readModel(ctx.services, 'accounting'), {
              site: principal.scope!,
              includeResolved: true,
              sourceMessageId,
            })
          : [];
      if (principal.role === 'site' && own.length === 0) throw forbidden();
      const message = await quarantinedMessageText(ctx.services.log, sourceMessageId);
      const text =
        principal.role === 'site'
          ? messageTextsForSite(
              own.map((q) => ({
                sourceMessageId,
                messageText: message.text,
                recordText:
                  q.line !== null && q.lastLine !== null
                    ? recordTextOf(message.text, q.line, q.lastLine)
                    : q.recordExcerpt,
              })),
              principal.scope!,
            ).get(sourceMessageId)!
          : message.text;
      return { ...message, receivedAt: isoInstant(message.receivedAt), text, length: text.length };
    },
    qualityWarnings: (_, { site }, ctx) =>
      queryQualityFlags(readModel(ctx.services, 'accounting'), siteOnly(ctx.principal, site)).map((f) => ({
        kind: f.kind,
        site: f.siteName,
        vmUuid: f.vmUuid,
        month: f.ym === null ? null : formatYearMonth(f.ym),
        eventId: f.eventId,
        detail: f.detail,
      })),
  },
  Mutation: {
    resubmitRecord: async (_, { sourceMessageId, recordIndex, correctedText }, ctx) => {
      const { principal } = ctx;
      requireRole(principal, 'staff', 'site');
      if (principal.role === 'site') {
        const quarantined = findQuarantined(
          readModel(ctx.services, 'accounting'),
          sourceMessageId,
          recordIndex ?? null,
        );
        if (quarantined?.siteName !== principal.scope) throw forbidden();
      }
      try {
        const result = await resubmitCorrected(ctx.services.log, sourceMessageId, recordIndex ?? null, correctedText, {
          by: `token:${principal.tokenId}`,
          ...(principal.role === 'site' ? { allowedSite: principal.scope! } : {}),
        });
        return { ...result, errors: publicErrors(result.errors) };
      } catch (error) {
        if (error instanceof SiteMismatchError)
          throw new GraphQLError(error.message, { extensions: { code: 'FORBIDDEN', location: error.location } });
        throw error;
      }
    },
  },
  SummaryRow: {
    vmMonths: (row, { first, after }, ctx) => vmConnection(ctx, { ...row.filter, key: row.key }, first, after),
  },
  UsageFigures: {
    vmMonths: (f) => f.vms,
  },
  VmMonth: {
    vmUuid: (m) => m.vm_uuid,
    month: (m) => formatYearMonth(m.ym),
    site: (m) => m.site_name,
    service: (m) => m.cloud_compute_service,
    user: (m) => m.global_user_name,
    vo: (m) => m.vo,
    voGroup: (m) => m.vo_group,
    voRole: (m) => m.vo_role,
    status: (m) => m.status,
    image: (m) => m.image_id,
    cloudType: (m) => m.cloud_type,
    cpuCount: (m) => m.cpu_count,
    memoryMb: (m) => m.memory,
    diskGb: (m) => m.disk,
    startTime: (m) => isoSeconds(m.start_time),
    endTime: (m) => isoSeconds(m.end_time),
    receivedAt: (m) => isoSeconds(m.received_at)!,
    cumulative: (m) => ({ wallSeconds: m.wall, cpuSeconds: m.cpu, networkInGb: m.net_in, networkOutGb: m.net_out }),
    monthly: (m) => ({
      wallSeconds: m.d_wall,
      cpuSeconds: m.d_cpu,
      networkInGb: m.d_net_in,
      networkOutGb: m.d_net_out,
    }),
    // The site's VM's stream holds every record it was sent; those measured in this month made the VM-month.
    records: async (m, _, ctx) => {
      const rows = [];
      for (const stored of await vmEvents(ctx, m.site_name, m.vm_uuid)) {
        const event = decode(stored);
        if (event.type !== 'CloudUsageRecorded') continue;
        const measured = measurementTime(event.data.record);
        if (measured === null || yearMonthOf(measured) !== m.ym) continue;
        const position = Number(stored.position);
        rows.push({
          eventId: stored.id,
          position,
          kept: position === m.kept_position,
          receivedAt: isoSeconds(Math.floor(Date.parse(event.data.receivedAt) / 1000))!,
          publisher: event.data.publisher,
          sourceMessageId: event.data.sourceMessageId,
          recordIndex: event.data.recordIndex,
          messageVersion: event.data.messageVersion,
          record: JSON.stringify(event.data.record),
        });
      }
      return rows;
    },
    warnings: (m, _, ctx) =>
      flagsOf(readModel(ctx.services, 'accounting'), m.site_name, m.vm_uuid, m.ym).map((f) => ({
        kind: f.kind,
        site: f.site_name,
        vmUuid: f.vm_uuid,
        month: f.ym === null ? null : formatYearMonth(f.ym),
        eventId: f.event_id,
        detail: f.detail,
      })),
  },
};

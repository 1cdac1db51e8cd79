/**
 * The report's reading order as a list of blocks (headings, sentences,
 * tables, charts), shared by the Markdown and HTML renderers so that both
 * say the same thing in the same order.
 */
import type { Membership, ReportContent, Table } from './model.ts';
import type { UsageFigures } from './model.ts';
import { changePercent, formatCell, readableCell, reportTables, VM_MONTHS, withoutUsage } from './render-tables.ts';

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'table'; table: Table; whenEmpty: string }
  | { kind: 'chart'; chart: 'monthly-usage' | 'site-availability' };

const list = (names: readonly string[]) => (names.length ? names.join(', ') : 'none');

function change(current: number, previous: number, format: 'int' | 'hours'): string {
  const pct = changePercent(current, previous);
  const delta = readableCell(current - previous, format);
  return `${current - previous > 0 ? '+' : ''}${delta}${pct === null ? '' : `, ${formatCell(pct, 'change')} %`}`;
}

const figures = (u: UsageFigures) =>
  `${readableCell(u.vms, 'int')} ${VM_MONTHS}, ${readableCell(u.wallHours, 'hours')} wall hours, ${readableCell(u.cpuCoreHours, 'hours')} CPU-core hours`;

/** The totals against the previous period; a period without usage records says so rather than showing −100 %. */
function totals(c: ReportContent): string {
  const { current, previous } = c.totals;
  if (withoutUsage(c)) return `No usage records in this period. ${c.previousPeriod}: ${figures(previous)}.`;
  return `${readableCell(current.vms, 'int')} ${VM_MONTHS} (${change(current.vms, previous.vms, 'int')}), ${readableCell(current.wallHours, 'hours')} wall hours (${change(current.wallHours, previous.wallHours, 'hours')}), ${readableCell(current.cpuCoreHours, 'hours')} CPU-core hours (${change(current.cpuCoreHours, previous.cpuCoreHours, 'hours')}) against ${c.previousPeriod}.`;
}

function participation(m: Membership, noun: string, previous: string): string {
  return `${m.active.length} active ${noun}: ${list(m.active)}. Joined since ${previous}: ${list(m.joined)}. Left since ${previous}: ${list(m.left)}.`;
}

export function reportOutline(c: ReportContent): Block[] {
  const tables = new Map(reportTables(c).map((t) => [t.name, t]));
  const table = (name: string, whenEmpty = 'None.'): Block => ({ kind: 'table', table: tables.get(name)!, whenEmpty });
  const under = c.sites.filter((s) => s.shortfalls.length > 0).length;
  return [
    { kind: 'heading', level: 1, text: `Technical board report ${c.period.name}` },
    {
      kind: 'paragraph',
      text: `Period ${c.period.from} to ${c.period.to} (UTC, one ${c.period.kind}), compared with ${c.previousPeriod}. Computed from the event log at position ${c.position}; the same log and period always give the same report.`,
    },
    {
      kind: 'paragraph',
      text: `Targets (EGI resource centre OLA, per month): availability at least ${c.targets.availability} %, reliability at least ${c.targets.reliability} %, unknown at most ${c.targets.unknown} %.`,
    },
    { kind: 'heading', level: 2, text: 'Federation totals' },
    {
      kind: 'paragraph',
      text: `${totals(c)} ${VM_MONTHS} add up each month's VM count: a VM running in three months counts three times.`,
    },
    table('totals'),
    { kind: 'heading', level: 3, text: 'Usage per month' },
    { kind: 'chart', chart: 'monthly-usage' },
    table('monthly-usage'),
    { kind: 'heading', level: 2, text: 'Resource centres' },
    {
      kind: 'paragraph',
      text: `${c.sites.length} resource centres; ${under} under target; ${c.threeMonthsUnder.length} under ${c.targets.availability} % availability for three months running.`,
    },
    {
      kind: 'paragraph',
      text: "Availability, reliability and unknown are percentages, from the site's status over all the period's seconds: availability is up time over the time with a known status, reliability also leaves out downtime, unknown is the share of the period with UNKNOWN or MISSING status (ARGO gives these as fractions). An NGI's figure elsewhere (the API, export ar) is computed differently: each day, the mean of its sites' daily figures; over a month, the mean of those days. So it can differ from the monthly figure of its only site.",
    },
    { kind: 'chart', chart: 'site-availability' },
    table('sites'),
    { kind: 'heading', level: 3, text: 'Under target' },
    table('sites-under-target'),
    { kind: 'heading', level: 3, text: `Under ${c.targets.availability} % availability for three months running` },
    table('sites-under-availability-three-months'),
    { kind: 'heading', level: 2, text: 'User communities' },
    table('communities'),
    { kind: 'heading', level: 2, text: 'Participation' },
    {
      kind: 'paragraph',
      text: 'A resource centre is active when its cloud endpoint is registered, it is monitored, and it published usage in the period. A user community is active when it ran VMs in the period.',
    },
    { kind: 'heading', level: 3, text: 'Active resource centres' },
    { kind: 'paragraph', text: participation(c.activeSites, 'resource centres', c.previousPeriod) },
    table('resource-centres'),
    table('active-resource-centres'),
    { kind: 'heading', level: 3, text: 'Active user communities' },
    { kind: 'paragraph', text: participation(c.activeCommunities, 'user communities', c.previousPeriod) },
    table('active-communities'),
    { kind: 'heading', level: 3, text: 'Integration of the resource centres' },
    {
      kind: 'paragraph',
      text: "Each resource centre's integration state at the end of the period (docs/onboarding.md): integrated when its accounting, monitoring and information-system checks all pass, partial while some fail, lapsed when it was integrated and a check fails now, not started when nothing has begun; since is the day it entered that state. Joined: begun in the period; completed integration: integrated in the period; lapsed: integrated at the previous period's end, lapsed now; left: begun before, and neither usage nor probe results in the period.",
    },
    table('participating-resource-centres'),
    { kind: 'heading', level: 3, text: 'User communities' },
    table('user-communities'),
    { kind: 'heading', level: 2, text: 'Data quality' },
    { kind: 'heading', level: 3, text: 'Silent publishers' },
    {
      kind: 'paragraph',
      text: 'Registered resource centres, or those that published in the previous period, from which fedledger received no usage record in the last seven days of the period. It goes by when records arrived, not the period they measure: records for this period that arrived after its end do not count, so a site can have usage measured in the period and still be listed.',
    },
    table('silent-publishers'),
    { kind: 'heading', level: 3, text: 'Quarantined records' },
    table('quarantine'),
    { kind: 'heading', level: 3, text: 'Rejected probe results and GOCDB input' },
    {
      kind: 'paragraph',
      text: 'Monitoring results and topology or downtime documents that failed validation: they are kept in quarantine and do not count towards availability.',
    },
    table('rejected-inputs'),
    { kind: 'heading', level: 3, text: 'Negative differences' },
    table('negative-differences'),
  ];
}

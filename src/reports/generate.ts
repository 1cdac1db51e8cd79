/**
 * Generating a report: read the accounting and availability read models at
 * one log position, compose, render, write the files, and record the run as
 * a ReportGenerated event. The only report module that does I/O.
 */
import type Database from 'better-sqlite3';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseYearMonth } from '../accounting/measurement.ts';
import {
  lastReceived,
  queryQualityFlags,
  queryQuarantine,
  querySummaries,
} from '../../projections/accounting/queries.ts';
import { arReport, rejectedInputs, sitesUnderThreeMonths } from '../../projections/availability/queries.ts';
import { registeredSites } from '../../projections/availability/topology.ts';
import { UserError } from '../errors.ts';
import type { EventLog } from '../eventlog/port.ts';
import { type EventData, streams } from '../events/catalogue.ts';
import { encode } from '../events/codec.ts';
import { sha256Hex } from '../events/ids.ts';
import type { ProjectionRunner } from '../projection/runner.ts';
import { composeReport, type ComposeInput, type SiteAvailability } from './compose.ts';
import { DEFAULT_TARGETS, type ReportContent, type Targets } from './model.ts';
import { monthsOf, type Period, periodDays, previousPeriod, trailingMonths } from './period.ts';
import { renderHtml } from './render-html.ts';
import { renderMarkdown } from './render-markdown.ts';
import { reportTables, tableCsv, tableJson } from './render-tables.ts';
import { isoInstant } from '../instant.ts';

/** The silent-site rule: a site whose last record was received more than this long before the period's end. */
export const SILENT_AFTER_SECONDS = 7 * 86_400;

export const READ_MODELS = ['accounting', 'availability'] as const;

export interface ReadModelDbs {
  accounting: Database.Database;
  availability: Database.Database;
  /** The last log position the read models have applied. */
  position: bigint;
}

/** The read models' databases and the position they stand at (their furthest checkpoint). */
export function readModelDbs(runners: ReadonlyMap<string, ProjectionRunner>): ReadModelDbs {
  const runner = (name: string) => {
    const r = runners.get(name);
    if (!r) throw new Error(`the ${name} read model is not registered`);
    return r;
  };
  const accounting = runner('accounting');
  const availability = runner('availability');
  const position = accounting.checkpoint > availability.checkpoint ? accounting.checkpoint : availability.checkpoint;
  return { accounting: accounting.db, availability: availability.db, position };
}

function siteAvailability(db: Database.Database, p: Period): SiteAvailability[] {
  return arReport(db, { ...periodDays(p), granularity: 'range', now: p.end.toJSDate(), levels: ['site'] }).map((r) => ({
    site: r.site!,
    group: r.group,
    availability: r.availability,
    reliability: r.reliability,
    unknown: r.unknown,
  }));
}

/** Queries the read models for everything the report of `period` needs. */
export function gatherInput(models: ReadModelDbs, period: Period, targets: Targets = DEFAULT_TARGETS): ComposeInput {
  const previous = previousPeriod(period);
  const first = [trailingMonths(period, 12)[0]!, monthsOf(previous)[0]!].sort()[0]!;
  const lastMonth = monthsOf(period).at(-1)!;
  const end = period.end.toSeconds();
  return {
    period,
    position: models.position,
    targets,
    summaries: querySummaries(models.accounting, { from: parseYearMonth(first)!, to: parseYearMonth(lastMonth)! }),
    availability: siteAvailability(models.availability, period),
    previousAvailability: siteAvailability(models.availability, previous),
    threeMonthsUnder: sitesUnderThreeMonths(
      models.availability,
      lastMonth,
      period.end.toJSDate(),
      targets.availability,
    ).map((s) => ({
      site: s.site,
      months: s.months.map((m) => ({ month: m.date, availability: m.availability })),
    })),
    registeredSites: registeredSites(models.availability),
    lastReceived: lastReceived(models.accounting, end),
    silentAfterSeconds: SILENT_AFTER_SECONDS,
    quarantine: queryQuarantine(models.accounting, { includeResolved: true }),
    rejectedInputs: rejectedInputs(models.availability, {
      from: isoInstant(period.start.toMillis()),
      to: isoInstant(period.end.toMillis()),
    }),
    flags: queryQualityFlags(models.accounting),
  };
}

export type ReportFile = EventData<'ReportGenerated'>['files'][number];

/** Every file of a report, by name, in name order. */
export function renderReportFiles(content: ReportContent): Map<string, string> {
  const files = new Map<string, string>([
    ['report.md', renderMarkdown(content)],
    ['report.html', renderHtml(content)],
  ]);
  for (const table of reportTables(content)) {
    files.set(`${table.name}.csv`, tableCsv(table));
    files.set(`${table.name}.json`, tableJson(table, content));
  }
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Writes the files (each through a temporary name, so a reader never sees half a file). */
export function writeReportFiles(dir: string, files: ReadonlyMap<string, string>): ReportFile[] {
  mkdirSync(dir, { recursive: true });
  const out: ReportFile[] = [];
  for (const [name, text] of files) {
    const target = path.join(dir, name);
    writeFileSync(`${target}.tmp`, text);
    renameSync(`${target}.tmp`, target);
    out.push({ name, bytes: Buffer.byteLength(text), sha256: sha256Hex(text) });
  }
  return out;
}

export function defaultReportDir(dataDir: string, period: Period): string {
  return path.join(dataDir, 'reports', period.name);
}

export interface GenerateOptions {
  log: EventLog;
  /** The read models, caught up to the head of the log. */
  readModels: () => Promise<ReadonlyMap<string, ProjectionRunner>>;
  period: Period;
  dir: string;
  now: Date;
  trigger: 'schedule' | 'cli';
  /** The cron instant of a scheduled run. */
  scheduledFor?: Date;
}

/** Generates the report of a finished period into `dir` and records the run. */
export async function generateReport(o: GenerateOptions): Promise<EventData<'ReportGenerated'>> {
  if (o.period.end.toMillis() > o.now.getTime()) {
    throw new UserError(
      'PERIOD_NOT_ENDED',
      `period ${o.period.name} ends at ${isoInstant(o.period.end.toMillis())}; a report covers finished periods only`,
      { field: 'period' },
    );
  }
  const models = readModelDbs(await o.readModels());
  const content = composeReport(gatherInput(models, o.period));
  const files = writeReportFiles(o.dir, renderReportFiles(content));
  const data: EventData<'ReportGenerated'> = {
    period: o.period.name,
    trigger: o.trigger,
    scheduledFor: o.scheduledFor ? isoInstant(o.scheduledFor) : null,
    position: content.position,
    directory: path.resolve(o.dir),
    files,
    generatedAt: isoInstant(o.now),
  };
  // A scheduled run is one fact per period; an on-demand run is new only when its output differs.
  const identity =
    o.trigger === 'schedule'
      ? [o.period.name, 'schedule']
      : [o.period.name, 'cli', data.position, data.directory, files];
  await o.log.append(streams.report(o.period.name), [encode('ReportGenerated', data, identity)]);
  return data;
}

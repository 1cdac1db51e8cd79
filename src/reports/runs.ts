/**
 * Report runs as recorded in the log (ReportGenerated events): what the API
 * lists and what the schedule checks before it runs.
 */
import { type EventLog, type RecordedEvent, StreamNotFoundError } from '../eventlog/port.ts';
import { type EventData, streams } from '../events/catalogue.ts';
import { decode } from '../events/codec.ts';

export interface ReportRun extends Omit<EventData<'ReportGenerated'>, 'position'> {
  /** Log position the figures were computed at. */
  position: bigint;
  /** Position of the run's own event in the log. */
  recordedAt: bigint;
}

function toRun(event: RecordedEvent): ReportRun {
  const decoded = decode(event);
  if (decoded.type !== 'ReportGenerated') throw new Error(`unexpected ${decoded.type} event among report runs`);
  return { ...decoded.data, position: BigInt(decoded.data.position), recordedAt: event.position };
}

/** Report runs, newest first; only those of `period` when given. */
export async function listReportRuns(log: EventLog, period?: string): Promise<ReportRun[]> {
  const runs: ReportRun[] = [];
  const events =
    period === undefined
      ? log.readAll({ filter: { eventTypes: ['ReportGenerated'] } })
      : log.readStream(streams.report(period));
  try {
    for await (const event of events) if (event.type === 'ReportGenerated') runs.push(toRun(event));
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
  }
  return runs.sort((a, b) => (a.recordedAt < b.recordedAt ? 1 : a.recordedAt > b.recordedAt ? -1 : 0));
}

/** Whether the schedule has already produced the report of `period`. */
export async function scheduledRunRecorded(log: EventLog, period: string): Promise<boolean> {
  return (await listReportRuns(log, period)).some((r) => r.trigger === 'schedule');
}

/**
 * The embedded event log's file name and what to do when it is damaged: constants the CLI needs before (or
 * without) loading the store, kept apart from open.ts so that naming the file does not load SQLite.
 */
export const EVENTLOG_FILE = 'events.sqlite';
/** What to do when the event log file is damaged: it is the only copy of what was ingested. */
export const EVENTLOG_REMEDY =
  'restore it from a backup (the event log is the only copy of what was ingested), then rebuild the read models with `fedledger project --rebuild`';

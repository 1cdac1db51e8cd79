/**
 * The tables of the `availability` read model: probe results, topology,
 * downtimes, profiles, rejected inputs, and per UTC day the timelines and
 * seconds of every endpoint, service, function group and site, with the
 * stored form of a timeline.
 */
import type { Timeline } from '../../src/availability/timeline.ts';

export const SCHEMA = `
CREATE TABLE endpoints (
  id INTEGER PRIMARY KEY,
  hostname TEXT NOT NULL,
  service TEXT NOT NULL,
  site TEXT,
  -- In production and monitored per GOCDB (or not in GOCDB): only those count towards their site.
  counted INTEGER NOT NULL DEFAULT 1,
  UNIQUE (hostname, service)
);
CREATE INDEX endpoints_site ON endpoints (site);
CREATE TABLE metrics (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE results (
  endpoint INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  metric INTEGER NOT NULL,
  status TEXT NOT NULL,
  PRIMARY KEY (endpoint, ts, metric, status)
) WITHOUT ROWID;
CREATE TABLE sites (name TEXT PRIMARY KEY, ngi TEXT, country TEXT) WITHOUT ROWID;
CREATE TABLE downtimes (
  id TEXT PRIMARY KEY,
  site TEXT,
  classification TEXT NOT NULL,
  severity TEXT NOT NULL,
  start INTEGER NOT NULL,
  end INTEGER NOT NULL,
  description TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE downtime_endpoints (
  hostname TEXT NOT NULL,
  service TEXT NOT NULL,
  downtime TEXT NOT NULL,
  PRIMARY KEY (hostname, service, downtime)
) WITHOUT ROWID;
CREATE INDEX downtime_endpoints_downtime ON downtime_endpoints (downtime);
CREATE TABLE profiles (
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  effective_from TEXT NOT NULL,
  position INTEGER NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (kind, name, effective_from)
) WITHOUT ROWID;
-- timeline: JSON [[secondOfDay, state], ...]; seconds cover the whole day (queries clip today to now).
CREATE TABLE endpoint_days (
  endpoint INTEGER NOT NULL,
  day TEXT NOT NULL,
  timeline TEXT NOT NULL,
  up INTEGER NOT NULL, unknown INTEGER NOT NULL, down INTEGER NOT NULL, critical INTEGER NOT NULL, total INTEGER NOT NULL,
  PRIMARY KEY (endpoint, day)
) WITHOUT ROWID;
CREATE INDEX endpoint_days_day ON endpoint_days (day);
-- level: service (name = service type), function (name = function group), site (name = '').
CREATE TABLE level_days (
  site TEXT NOT NULL,
  level TEXT NOT NULL,
  name TEXT NOT NULL,
  day TEXT NOT NULL,
  timeline TEXT NOT NULL,
  up INTEGER NOT NULL, unknown INTEGER NOT NULL, down INTEGER NOT NULL, critical INTEGER NOT NULL, total INTEGER NOT NULL,
  PRIMARY KEY (level, site, name, day)
) WITHOUT ROWID;
CREATE INDEX level_days_day ON level_days (level, day);
-- Rejected probe-result lines and GOCDB elements or documents; their text stays in the log's quarantine stream only.
CREATE TABLE rejected_inputs (
  source_message_id TEXT NOT NULL,
  -- 1-based line (probe results) or element index (GOCDB); 0 for a source rejected as a whole.
  line INTEGER NOT NULL,
  input TEXT NOT NULL,
  errors TEXT NOT NULL,
  received_at TEXT NOT NULL,
  publisher TEXT NOT NULL,
  PRIMARY KEY (source_message_id, line)
) WITHOUT ROWID;
CREATE INDEX rejected_inputs_received ON rejected_inputs (received_at);
-- Endpoint days whose recomputation is put off until the log has moved past them (or the runner is at the head).
CREATE TABLE deferred_days (endpoint INTEGER NOT NULL, day INTEGER NOT NULL, PRIMARY KEY (endpoint, day)) WITHOUT ROWID;
`;

export const encodeTimeline = (t: Timeline) => JSON.stringify(t.map((p) => [p.at, p.state]));
export const decodeTimeline = (text: string): Timeline =>
  (JSON.parse(text) as Array<[number, string]>).map(([at, state]) => ({ at, state }));

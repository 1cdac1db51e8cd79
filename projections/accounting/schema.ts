/**
 * The tables of the `accounting` read model: when each site's records arrived,
 * the sites of each VMUUID, the VM-month table (last received wins), APEL's
 * monthly cloud summary, data-quality flags and the quarantine of rejected
 * records, with the rows as they are read back.
 */
import type { Figures } from '../../src/accounting/summary.ts';

export const SCHEMA = `
-- When each site's records arrived (the report's silent-site check): one row per site and receipt time, which the
-- records of a message share; the records themselves are the VM streams' events.
CREATE TABLE acc_receipts (site_name TEXT NOT NULL, received_at INTEGER NOT NULL, PRIMARY KEY (site_name, received_at)) WITHOUT ROWID;
-- The sites that reported each VMUUID: a VMUUID reported by a second site is flagged (a VM's records, by month, are
-- read from its stream).
CREATE TABLE acc_vm_sites (vm_uuid TEXT NOT NULL, site_name TEXT NOT NULL, PRIMARY KEY (vm_uuid, site_name)) WITHOUT ROWID;
CREATE TABLE acc_vm_months (
  vm_uuid TEXT NOT NULL,
  ym INTEGER NOT NULL,
  kept_position INTEGER NOT NULL,
  kept_event_id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  group_key TEXT NOT NULL,
  site_name TEXT NOT NULL,
  cloud_compute_service TEXT,
  global_user_name TEXT,
  vo TEXT,
  vo_group TEXT,
  vo_role TEXT,
  status TEXT,
  image_id TEXT,
  cpu_count REAL,
  benchmark_type TEXT,
  benchmark REAL,
  cloud_type TEXT,
  start_time INTEGER,
  end_time INTEGER,
  memory INTEGER,
  disk INTEGER,
  wall INTEGER, cpu INTEGER, net_in INTEGER, net_out INTEGER,
  d_wall INTEGER, d_cpu INTEGER, d_net_in INTEGER, d_net_out INTEGER,
  PRIMARY KEY (ym, site_name, vm_uuid)
) WITHOUT ROWID;
CREATE UNIQUE INDEX acc_vm_months_vm ON acc_vm_months (site_name, vm_uuid, ym);
CREATE INDEX acc_vm_months_group ON acc_vm_months (group_key);
CREATE TABLE acc_summaries (
  group_key TEXT PRIMARY KEY,
  site_name TEXT NOT NULL,
  cloud_compute_service TEXT,
  ym INTEGER NOT NULL,
  global_user_name TEXT,
  vo TEXT,
  vo_group TEXT,
  vo_role TEXT,
  status TEXT,
  image_id TEXT,
  cpu_count REAL,
  benchmark_type TEXT,
  benchmark REAL NOT NULL,
  cloud_type TEXT,
  cloud_position INTEGER NOT NULL,
  earliest_start INTEGER,
  latest_start INTEGER,
  wall INTEGER NOT NULL, wall_n INTEGER NOT NULL,
  cpu INTEGER NOT NULL, cpu_n INTEGER NOT NULL,
  net_in INTEGER NOT NULL, net_in_n INTEGER NOT NULL,
  net_out INTEGER NOT NULL, net_out_n INTEGER NOT NULL,
  memory INTEGER NOT NULL, memory_n INTEGER NOT NULL,
  disk INTEGER NOT NULL, disk_n INTEGER NOT NULL,
  vms INTEGER NOT NULL
);
CREATE INDEX acc_summaries_month ON acc_summaries (ym, site_name);
CREATE TABLE acc_flags (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  site_name TEXT NOT NULL,
  vm_uuid TEXT NOT NULL,
  ym INTEGER,
  event_id TEXT,
  detail TEXT NOT NULL
);
CREATE INDEX acc_flags_vm_month ON acc_flags (site_name, vm_uuid, ym, kind);
CREATE TABLE acc_quarantine (
  source_message_id TEXT NOT NULL,
  record_index INTEGER NOT NULL,
  line INTEGER,
  last_line INTEGER,
  site_name TEXT,
  record_excerpt TEXT NOT NULL,
  record_length INTEGER NOT NULL,
  errors TEXT NOT NULL,
  received_at TEXT NOT NULL,
  publisher TEXT NOT NULL,
  resolution TEXT,
  resolved_at TEXT,
  resolved_by TEXT,
  PRIMARY KEY (source_message_id, record_index)
);
CREATE INDEX acc_quarantine_listing ON acc_quarantine (received_at, source_message_id, record_index);
`;

/** APEL's grouping columns (but month and benchmark), as acc_vm_months and acc_summaries hold them. */
interface GroupingColumns {
  site_name: string;
  cloud_compute_service: string | null;
  global_user_name: string | null;
  vo: string | null;
  vo_group: string | null;
  vo_role: string | null;
  status: string | null;
  image_id: string | null;
  cpu_count: number | null;
  benchmark_type: string | null;
}

/** A row of acc_vm_months, as queries read it. */
export interface VmMonthRow extends GroupingColumns {
  vm_uuid: string;
  ym: number;
  kept_position: number;
  kept_event_id: string;
  received_at: number;
  group_key: string;
  benchmark: number | null;
  cloud_type: string | null;
  start_time: number | null;
  end_time: number | null;
  memory: number | null;
  disk: number | null;
  wall: number | null;
  cpu: number | null;
  net_in: number | null;
  net_out: number | null;
  d_wall: number | null;
  d_cpu: number | null;
  d_net_in: number | null;
  d_net_out: number | null;
}

/** The summed measures of a summary group: per measure its sum and its count of non-null terms. */
export interface SummedMeasures {
  wall: number;
  wall_n: number;
  cpu: number;
  cpu_n: number;
  net_in: number;
  net_in_n: number;
  net_out: number;
  net_out_n: number;
  memory: number;
  memory_n: number;
  disk: number;
  disk_n: number;
}

/** A row of acc_summaries, as queries read it. */
export interface SummaryTableRow extends GroupingColumns, SummedMeasures {
  ym: number;
  benchmark: number;
  cloud_type: string | null;
  earliest_start: number | null;
  latest_start: number | null;
  vms: number;
}

/** A row of acc_flags, as queries read it. */
export interface FlagRow {
  kind: string;
  site_name: string;
  vm_uuid: string;
  ym: number | null;
  event_id: string | null;
  detail: string;
}

/** A VM-month's cumulative figures. */
export const figuresOf = (r: Pick<VmMonthRow, 'wall' | 'cpu' | 'net_in' | 'net_out'>): Figures => ({
  wallDuration: r.wall,
  cpuDuration: r.cpu,
  networkInbound: r.net_in,
  networkOutbound: r.net_out,
});

/** A VM-month's monthly differences. */
export const diffsOf = (r: Pick<VmMonthRow, 'd_wall' | 'd_cpu' | 'd_net_in' | 'd_net_out'>): Figures => ({
  wallDuration: r.d_wall,
  cpuDuration: r.d_cpu,
  networkInbound: r.d_net_in,
  networkOutbound: r.d_net_out,
});

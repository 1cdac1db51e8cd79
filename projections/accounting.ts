/**
 * The `accounting` read model: the VM-month table (last received wins),
 * monthly differences, APEL's monthly cloud summary, data-quality flags, the
 * quarantine of rejected records, and when each site's records arrived.
 * The records themselves stay in their VM streams (drill-downs read them there).
 * A VM is a site's VMUUID, here as in the streams (docs/accounting.md).
 *
 * Writes are laid out for batches of records arriving roughly in time order:
 * VM-months are keyed month first, so a batch rewrites the current month's
 * pages instead of pages all over the table. (A per-record index keyed by VM
 * cost a third of the projection's time at 1M records: each batch dirtied a
 * page per record.)
 *
 * A record's handler writes only its flags and a VM's first sighting at a
 * site, and remembers the latest record per VM-month; `afterBatch` settles
 * the batch, so each VM-month and each summary group is written once per batch:
 * - A VM-month is settled against its VM's latest kept month, which a cache
 *   holds per opened file (prepared afresh when another process wrote it). A record for
 *   that month or a later one, the usual case, reads nothing; a late record
 *   reads its neighbours from the file, shifts the next month's difference, and
 *   drops the VM from the cache.
 * - A VM reporting again within its month and group updates only the columns
 *   that can change.
 * - Each touched group gets its summed change (sums, counts of non-null terms,
 *   NumberOfVMs, CloudType of the batch's latest record) in one statement; an
 *   emptied group is deleted. A group is recomputed from its VM-months only
 *   when a VM-month leaves it or a start time changes (min/max cannot be
 *   subtracted).
 * The caches are dropped when they grow past a bound, and whenever an event
 * comes at or before the last one handled: the runner re-reads the log from
 * its checkpoint only after a batch rolled back, which may have left them
 * ahead of the file.
 */
import type Database from 'better-sqlite3';
import type { CloudUsageRecord, RecordError } from '../src/events/catalogue.ts';
import { measurementTime, recordFlags, type YearMonth, yearMonthOf } from '../src/accounting/measurement.ts';
import {
  CUMULATIVE,
  type Figures,
  groupKey,
  hasNegative,
  monthlyDifferences,
  sortSummaries,
  type SummaryRow,
  vmMonthOf,
} from '../src/accounting/summary.ts';
import type { Projection } from '../src/projection/projection.ts';

const SCHEMA = `
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
CREATE TABLE acc_sites (
  site_name TEXT PRIMARY KEY,
  last_received_at INTEGER NOT NULL,
  records INTEGER NOT NULL
);
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

/** A record waiting to be settled into its VM-month at the end of the batch. */
interface Pending {
  siteName: string;
  vmUuid: string;
  ym: YearMonth;
  position: number;
  eventId: string;
  receivedAt: number;
  record: CloudUsageRecord;
}

/** A row of acc_vm_months, as queries read it. */
export interface VmMonthRow {
  vm_uuid: string;
  ym: number;
  kept_position: number;
  kept_event_id: string;
  received_at: number;
  group_key: string;
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

/** The columns of a stored VM-month that settling a record against it needs. */
type KeptColumns = Pick<
  VmMonthRow,
  | 'ym'
  | 'group_key'
  | 'start_time'
  | 'memory'
  | 'disk'
  | 'wall'
  | 'cpu'
  | 'net_in'
  | 'net_out'
  | 'd_wall'
  | 'd_cpu'
  | 'd_net_in'
  | 'd_net_out'
>;

const figuresOf = (r: {
  wall: number | null;
  cpu: number | null;
  net_in: number | null;
  net_out: number | null;
}): Figures => ({
  wallDuration: r.wall,
  cpuDuration: r.cpu,
  networkInbound: r.net_in,
  networkOutbound: r.net_out,
});
const diffsOf = (r: KeptColumns): Figures => ({
  wallDuration: r.d_wall,
  cpuDuration: r.d_cpu,
  networkInbound: r.d_net_in,
  networkOutbound: r.d_net_out,
});
const sameFigures = (a: Figures, b: Figures) => CUMULATIVE.every((f) => a[f] === b[f]);

/** What one VM-month adds to its summary group: (sum, count of non-null) per summed measure. */
type Contribution = [number, number, number, number, number, number, number, number, number, number, number, number];
const term = (v: number | null): [number, number] => (v === null ? [0, 0] : [v, 1]);
function contribution(diff: Figures, memory: number | null, disk: number | null): Contribution {
  return [
    ...term(diff.wallDuration),
    ...term(diff.cpuDuration),
    ...term(diff.networkInbound),
    ...term(diff.networkOutbound),
    ...term(memory),
    ...term(disk),
  ] as Contribution;
}
const keptContribution = (k: KeptColumns) => contribution(diffsOf(k), k.memory, k.disk);
const minus = (a: Contribution, b: Contribution) => a.map((v, i) => v - b[i]!) as Contribution;
const ZERO: Contribution = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

function statements(db: Database.Database) {
  return {
    addReceipt: db.prepare('INSERT OR IGNORE INTO acc_receipts (site_name, received_at) VALUES (?, ?)'),
    addVmSite: db.prepare('INSERT OR IGNORE INTO acc_vm_sites (vm_uuid, site_name) VALUES (?, ?)'),
    otherVmSite: db.prepare('SELECT 1 FROM acc_vm_sites WHERE vm_uuid = ? AND site_name <> ? LIMIT 1'),
    insertFlag: db.prepare(
      'INSERT INTO acc_flags (kind, site_name, vm_uuid, ym, event_id, detail) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    deleteMonthFlag: db.prepare('DELETE FROM acc_flags WHERE site_name = ? AND vm_uuid = ? AND ym = ? AND kind = ?'),
    touchSite: db.prepare(
      `INSERT INTO acc_sites (site_name, last_received_at, records) VALUES (?, ?, ?)
       ON CONFLICT (site_name) DO UPDATE SET last_received_at = max(last_received_at, excluded.last_received_at), records = records + excluded.records`,
    ),
    getLatest: db.prepare(
      `SELECT ym, group_key, start_time, memory, disk, wall, cpu, net_in, net_out, d_wall, d_cpu, d_net_in, d_net_out
       FROM acc_vm_months WHERE site_name = ? AND vm_uuid = ? ORDER BY ym DESC LIMIT 2`,
    ),
    getVm: db.prepare('SELECT * FROM acc_vm_months WHERE site_name = ? AND vm_uuid = ? AND ym = ?'),
    getPrev: db.prepare(
      `SELECT wall, cpu, net_in, net_out FROM acc_vm_months WHERE site_name = ? AND vm_uuid = ? AND ym < ?
       ORDER BY ym DESC LIMIT 1`,
    ),
    getNext: db.prepare(
      'SELECT * FROM acc_vm_months WHERE site_name = ? AND vm_uuid = ? AND ym > ? ORDER BY ym ASC LIMIT 1',
    ),
    // The usual case, a VM reporting again within its month and group: the grouping columns stay as they are.
    // Its parameters are the first ones of `upsertVm`.
    updateVm: db.prepare(
      `UPDATE acc_vm_months SET kept_position = ?, kept_event_id = ?, received_at = ?, benchmark = ?, cloud_type = ?,
         start_time = ?, end_time = ?, memory = ?, disk = ?, wall = ?, cpu = ?, net_in = ?, net_out = ?,
         d_wall = ?, d_cpu = ?, d_net_in = ?, d_net_out = ?
       WHERE ym = ? AND site_name = ? AND vm_uuid = ?`,
    ),
    // An upsert, not INSERT OR REPLACE: a VM-month changing group keeps its other index entries untouched.
    upsertVm: db.prepare(
      `INSERT INTO acc_vm_months (kept_position, kept_event_id, received_at, benchmark, cloud_type, start_time, end_time,
         memory, disk, wall, cpu, net_in, net_out, d_wall, d_cpu, d_net_in, d_net_out, ym, site_name, vm_uuid,
         group_key, cloud_compute_service, global_user_name, vo, vo_group, vo_role, status, image_id, cpu_count,
         benchmark_type)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (ym, site_name, vm_uuid) DO UPDATE SET kept_position = excluded.kept_position,
         kept_event_id = excluded.kept_event_id, received_at = excluded.received_at, group_key = excluded.group_key,
         cloud_compute_service = excluded.cloud_compute_service, global_user_name = excluded.global_user_name,
         vo = excluded.vo, vo_group = excluded.vo_group, vo_role = excluded.vo_role, status = excluded.status,
         image_id = excluded.image_id, cpu_count = excluded.cpu_count, benchmark_type = excluded.benchmark_type,
         benchmark = excluded.benchmark, cloud_type = excluded.cloud_type, start_time = excluded.start_time,
         end_time = excluded.end_time, memory = excluded.memory, disk = excluded.disk, wall = excluded.wall,
         cpu = excluded.cpu, net_in = excluded.net_in, net_out = excluded.net_out, d_wall = excluded.d_wall,
         d_cpu = excluded.d_cpu, d_net_in = excluded.d_net_in, d_net_out = excluded.d_net_out`,
    ),
    setDiffs: db.prepare(
      `UPDATE acc_vm_months SET d_wall = ?, d_cpu = ?, d_net_in = ?, d_net_out = ?
       WHERE site_name = ? AND vm_uuid = ? AND ym = ?`,
    ),
    // Applies a group's change over the batch; a group it does not find is new, and `insertGroup` adds it.
    shiftGroup: db.prepare(
      `UPDATE acc_summaries SET wall = wall + ?, wall_n = wall_n + ?, cpu = cpu + ?, cpu_n = cpu_n + ?, net_in = net_in + ?,
         net_in_n = net_in_n + ?, net_out = net_out + ?, net_out_n = net_out_n + ?, memory = memory + ?, memory_n = memory_n + ?,
         disk = disk + ?, disk_n = disk_n + ?, vms = vms + ?,
         cloud_type = CASE WHEN ? > cloud_position THEN ? ELSE cloud_type END, cloud_position = max(cloud_position, ?),
         earliest_start = coalesce(min(earliest_start, ?), earliest_start, ?),
         latest_start = coalesce(max(latest_start, ?), latest_start, ?)
       WHERE group_key = ?`,
    ),
    insertGroup: db.prepare(
      `INSERT INTO acc_summaries (wall, wall_n, cpu, cpu_n, net_in, net_in_n, net_out, net_out_n, memory, memory_n, disk, disk_n,
         vms, cloud_type, cloud_position, earliest_start, latest_start, group_key, site_name, cloud_compute_service, ym,
         global_user_name, vo, vo_group, vo_role, status, image_id, cpu_count, benchmark_type, benchmark)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteEmptyGroup: db.prepare('DELETE FROM acc_summaries WHERE group_key = ? AND vms = 0'),
    recomputeGroup: db.prepare(
      `UPDATE acc_summaries SET (earliest_start, latest_start, cloud_type, cloud_position) = (
         SELECT min(start_time), max(start_time),
           (SELECT cloud_type FROM acc_vm_months WHERE group_key = @key ORDER BY kept_position DESC LIMIT 1), max(kept_position)
         FROM acc_vm_months WHERE group_key = @key)
       WHERE group_key = @key`,
    ),
    insertQuarantine: db.prepare(
      `INSERT OR IGNORE INTO acc_quarantine (source_message_id, record_index, line, last_line, site_name, record_excerpt, record_length, errors, received_at, publisher)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    resolveQuarantine: db.prepare(
      'UPDATE acc_quarantine SET resolution = ?, resolved_at = ?, resolved_by = ? WHERE source_message_id = ? AND record_index = ?',
    ),
  };
}

type Statements = ReturnType<typeof statements>;

/** A VM's latest kept VM-month and the figures of the kept month before it (none: its first month). */
interface Latest {
  row: KeptColumns;
  prev: Figures | undefined;
}

/** A summary group's change over one batch. */
interface GroupChange {
  delta: Contribution;
  vms: number;
  /** The batch's most recently received record in the group; position -1 leaves the stored cloud type. */
  cloudType: string | null;
  cloudPosition: number;
  /** Start times of the VM-months that joined the group. */
  earliest: number | null;
  latest: number | null;
}

/** Per opened read-model file: its statements, caches of what it holds, and what the current batch has left to settle. */
interface FileState {
  stmt: Statements;
  /** Per VM (`site\0vm`), its `Latest` (null: no VM-month yet), as the file holds it. */
  latest: Map<string, Latest | null>;
  /** VMs (`site\0vm`) the file holds in acc_vm_sites. */
  vmSites: Set<string>;
  /** The last event handled: an event at or before it means the log is being re-read after a rolled-back batch. */
  lastPosition: bigint;
  pending: Map<string, Pending>;
  /** Per site, the batch's latest receipt time, its receipt times and its count of records. */
  sites: Map<string, { receivedAt: number; receipts: Set<number>; records: number }>;
}

/** Each cache is dropped whole when it reaches this many entries, which bounds memory in a long-running process. */
const CACHE_LIMIT = 100_000;
const makeRoom = (cache: { size: number; clear(): void }) => {
  if (cache.size >= CACHE_LIMIT) cache.clear();
};

const files = new WeakMap<Database.Database, FileState>();

/** Forgets everything held in memory: a rolled-back batch may have left it ahead of the file. */
function forget(state: FileState): void {
  state.latest.clear();
  state.vmSites.clear();
  state.pending.clear();
  state.sites.clear();
}

const epochSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** A VM's key in the caches: VMUUIDs are unique only within a site. */
const vmKey = (siteName: string, vmUuid: string) => `${siteName}\u0000${vmUuid}`;

function latestOf(state: FileState, siteName: string, vmUuid: string): Latest | null {
  const key = vmKey(siteName, vmUuid);
  let latest = state.latest.get(key);
  if (latest === undefined) {
    const [row, before] = state.stmt.getLatest.all(siteName, vmUuid) as KeptColumns[];
    latest = row ? { row, prev: before && figuresOf(before) } : null;
    makeRoom(state.latest);
    state.latest.set(key, latest);
  }
  return latest;
}

function settleBatch(state: FileState): Set<string> {
  const { stmt } = state;
  const groups = new Map<string, GroupChange>();
  const recompute = new Set<string>();
  const shift = (key: string, delta: Contribution, vms: number) => {
    let g = groups.get(key);
    if (!g) {
      g = { delta: [...ZERO], vms: 0, cloudType: null, cloudPosition: -1, earliest: null, latest: null };
      groups.set(key, g);
    }
    for (let i = 0; i < delta.length; i++) g.delta[i]! += delta[i]!;
    g.vms += vms;
    return g;
  };
  const received = (g: GroupChange, cloudType: string | null, position: number) => {
    if (position < g.cloudPosition) return;
    g.cloudType = cloudType;
    g.cloudPosition = position;
  };
  const flagNegative = (vm: { vmUuid: string; ym: number; siteName: string }, was: boolean, diff: Figures) => {
    const is = hasNegative(diff);
    if (!was && !is) return;
    stmt.deleteMonthFlag.run(vm.siteName, vm.vmUuid, vm.ym, 'negative_difference');
    if (is) {
      const parts = CUMULATIVE.filter((f) => (diff[f] ?? 0) < 0).map((f) => `${f} ${diff[f]}`);
      stmt.insertFlag.run(
        'negative_difference',
        vm.siteName,
        vm.vmUuid,
        vm.ym,
        null,
        `negative monthly difference: ${parts.join(', ')}`,
      );
    }
  };

  for (const p of state.pending.values()) {
    const vm = vmMonthOf(p.record, p.ym, p.position);
    const key = groupKey(vm);
    // A record for the VM's latest month or a later one is settled from the cache; a late one reads its neighbours.
    const latest = latestOf(state, p.siteName, p.vmUuid);
    const late = latest !== null && p.ym < latest.row.ym;
    let old: KeptColumns | undefined;
    let prev: Figures | undefined;
    if (late) {
      old = stmt.getVm.get(p.siteName, p.vmUuid, p.ym) as VmMonthRow | undefined;
      const before = stmt.getPrev.get(p.siteName, p.vmUuid, p.ym) as KeptColumns | undefined;
      prev = before && figuresOf(before);
    } else if (latest?.row.ym === p.ym) {
      old = latest.row;
      prev = latest.prev;
    } else prev = latest ? figuresOf(latest.row) : undefined;
    const diff = monthlyDifferences(vm, prev);
    const r = p.record;
    const kept = [
      p.position,
      p.eventId,
      p.receivedAt,
      r.benchmark,
      r.cloudType,
      r.startTime,
      r.endTime,
      r.memory,
      r.disk,
      r.wallDuration,
      r.cpuDuration,
      r.networkInbound,
      r.networkOutbound,
      diff.wallDuration,
      diff.cpuDuration,
      diff.networkInbound,
      diff.networkOutbound,
      p.ym,
      p.siteName,
      p.vmUuid,
    ];
    const added = contribution(diff, r.memory, r.disk);
    if (old && old.group_key === key) {
      // The usual case: a running VM reports again within the month.
      stmt.updateVm.run(...kept);
      received(shift(key, minus(added, keptContribution(old)), 0), r.cloudType, p.position);
      if (old.start_time !== r.startTime) recompute.add(key);
    } else {
      stmt.upsertVm.run(
        ...kept,
        key,
        r.cloudComputeService,
        r.globalUserName,
        r.vo,
        r.voGroup,
        r.voRole,
        r.status,
        r.imageId,
        r.cpuCount,
        r.benchmarkType,
      );
      if (old) {
        shift(old.group_key, minus(ZERO, keptContribution(old)), -1);
        recompute.add(old.group_key);
      }
      const g = shift(key, added, 1);
      received(g, r.cloudType, p.position);
      if (r.startTime !== null) {
        g.earliest = Math.min(g.earliest ?? r.startTime, r.startTime);
        g.latest = Math.max(g.latest ?? r.startTime, r.startTime);
      }
    }
    flagNegative(vm, old !== undefined && hasNegative(diffsOf(old)), diff);

    if (!late) {
      state.latest.set(vmKey(p.siteName, p.vmUuid), {
        row: {
          ym: p.ym,
          group_key: key,
          start_time: r.startTime,
          memory: r.memory,
          disk: r.disk,
          wall: r.wallDuration,
          cpu: r.cpuDuration,
          net_in: r.networkInbound,
          net_out: r.networkOutbound,
          d_wall: diff.wallDuration,
          d_cpu: diff.cpuDuration,
          d_net_in: diff.networkInbound,
          d_net_out: diff.networkOutbound,
        },
        prev,
      });
      continue;
    }
    // A late record may change a later month's difference, which the cache would not see: reread the VM next time.
    state.latest.delete(vmKey(p.siteName, p.vmUuid));
    // The next kept month's difference is taken against this one.
    if (old && sameFigures(figuresOf(old), vm)) continue;
    const next = stmt.getNext.get(p.siteName, p.vmUuid, p.ym) as VmMonthRow | undefined;
    if (!next) continue;
    const nextOld = diffsOf(next);
    const nextNew = monthlyDifferences(figuresOf(next), vm);
    if (sameFigures(nextOld, nextNew)) continue;
    stmt.setDiffs.run(
      nextNew.wallDuration,
      nextNew.cpuDuration,
      nextNew.networkInbound,
      nextNew.networkOutbound,
      next.site_name,
      next.vm_uuid,
      next.ym,
    );
    shift(next.group_key, minus(contribution(nextNew, 0, 0), contribution(nextOld, 0, 0)), 0);
    flagNegative({ vmUuid: next.vm_uuid, ym: next.ym, siteName: next.site_name }, hasNegative(nextOld), nextNew);
  }
  for (const [key, g] of groups) {
    const { cloudType, cloudPosition, earliest, latest } = g;
    const change = [g.vms, cloudPosition, cloudType, cloudPosition, earliest, earliest, latest, latest];
    if (stmt.shiftGroup.run(...g.delta, ...change, key).changes === 0) {
      // The key is the JSON of the grouping columns, in the order `insertGroup` takes them.
      stmt.insertGroup.run(
        ...g.delta,
        g.vms,
        cloudType,
        cloudPosition,
        earliest,
        latest,
        key,
        ...(JSON.parse(key) as unknown[]),
      );
    } else if (g.vms < 0 && stmt.deleteEmptyGroup.run(key).changes > 0) recompute.delete(key);
  }
  for (const key of recompute) stmt.recomputeGroup.run({ key });
  for (const [site, s] of state.sites) {
    stmt.touchSite.run(site, s.receivedAt, s.records);
    for (const at of s.receipts) stmt.addReceipt.run(site, at);
  }
  const touched = new Set(state.sites.keys());
  state.pending.clear();
  state.sites.clear();
  return touched;
}

export const accountingProjection: Projection = {
  name: 'accounting',
  version: 5,
  eventTypes: ['CloudUsageRecorded', 'CloudRecordRejected', 'QuarantineResolved'],
  setup(db) {
    db.exec(SCHEMA);
  },
  prepare(db) {
    const state: FileState = {
      stmt: statements(db),
      latest: new Map(),
      vmSites: new Set(),
      lastPosition: -1n,
      pending: new Map(),
      sites: new Map(),
    };
    files.set(db, state);
    const { stmt } = state;
    // The records of a message share their receipt time: its text is parsed once per message, not per record.
    let receivedIso = '';
    let receivedAt = 0;
    return ({ event, id, position }, ctx) => {
      // The runner re-reads from its checkpoint only after a batch failed to commit.
      if (position <= state.lastPosition) forget(state);
      state.lastPosition = position;
      switch (event.type) {
        case 'CloudUsageRecorded': {
          const { record } = event.data;
          if (event.data.receivedAt !== receivedIso) {
            receivedIso = event.data.receivedAt;
            receivedAt = epochSeconds(receivedIso);
          }
          const measured = measurementTime(record);
          const ym = measured === null ? null : yearMonthOf(measured);
          const pos = Number(position);
          const vm = vmKey(record.siteName, record.vmUuid);
          if (!state.vmSites.has(vm)) {
            // A VM new to the file whose VMUUID another site reported first: accounted as this site's own VM.
            if (
              stmt.addVmSite.run(record.vmUuid, record.siteName).changes > 0 &&
              stmt.otherVmSite.get(record.vmUuid, record.siteName) !== undefined
            )
              stmt.insertFlag.run(
                'vmuuid_at_other_site',
                record.siteName,
                record.vmUuid,
                ym,
                id,
                'VMUUID already reported by another site: accounted as a separate VM of this site',
              );
            makeRoom(state.vmSites);
            state.vmSites.add(vm);
          }
          for (const flag of recordFlags(record, receivedAt))
            stmt.insertFlag.run(flag.kind, record.siteName, record.vmUuid, ym, id, flag.detail);
          if (ym !== null) {
            state.pending.set(`${vm}\u0000${ym}`, {
              siteName: record.siteName,
              vmUuid: record.vmUuid,
              ym,
              position: pos,
              eventId: id,
              receivedAt,
              record,
            });
          }
          const site = state.sites.get(record.siteName);
          if (site) {
            site.receivedAt = Math.max(site.receivedAt, receivedAt);
            site.receipts.add(receivedAt);
            site.records += 1;
          } else state.sites.set(record.siteName, { receivedAt, receipts: new Set([receivedAt]), records: 1 });
          return;
        }
        case 'CloudRecordRejected': {
          const d = event.data;
          stmt.insertQuarantine.run(
            d.sourceMessageId,
            d.recordIndex ?? 0,
            d.line,
            d.lastLine,
            d.siteName,
            d.recordExcerpt,
            d.recordLength,
            JSON.stringify(d.errors),
            d.receivedAt,
            d.publisher,
          );
          ctx.changed('accounting:quarantine');
          return;
        }
        case 'QuarantineResolved': {
          const d = event.data;
          stmt.resolveQuarantine.run(d.resolution, d.resolvedAt, d.by, d.sourceMessageId, d.recordIndex ?? 0);
          ctx.changed('accounting:quarantine');
          return;
        }
        default:
          return;
      }
    };
  },
  afterBatch(db, ctx) {
    const state = files.get(db);
    if (!state || (state.pending.size === 0 && state.sites.size === 0)) return;
    for (const site of settleBatch(state)) ctx.changed(`site:${site}`);
    ctx.changed('accounting:summaries');
  },
};

// ---- Queries over the read model (used by the CLI, the API and reports) ----

export interface SummaryFilter {
  from?: YearMonth;
  to?: YearMonth;
  site?: string;
}

interface SummaryDbRow {
  site_name: string;
  cloud_compute_service: string | null;
  ym: number;
  global_user_name: string | null;
  vo: string | null;
  vo_group: string | null;
  vo_role: string | null;
  status: string | null;
  image_id: string | null;
  cpu_count: number | null;
  benchmark_type: string | null;
  benchmark: number;
  cloud_type: string | null;
  earliest_start: number | null;
  latest_start: number | null;
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
  vms: number;
}

const sumOrNull = (sum: number, n: number) => (n > 0 ? sum : null);

/** Summary rows in the given month range (inclusive) and site, in `sortSummaries` order. */
export function querySummaries(db: Database.Database, filter: SummaryFilter = {}): SummaryRow[] {
  const rows = db
    .prepare('SELECT * FROM acc_summaries WHERE ym >= @from AND ym <= @to AND (@site IS NULL OR site_name = @site)')
    .all({ from: filter.from ?? 0, to: filter.to ?? 999_999, site: filter.site ?? null }) as SummaryDbRow[];
  return sortSummaries(
    rows.map((r) => ({
      siteName: r.site_name,
      cloudComputeService: r.cloud_compute_service,
      year: Math.floor(r.ym / 100),
      month: r.ym % 100,
      globalUserName: r.global_user_name,
      vo: r.vo,
      voGroup: r.vo_group,
      voRole: r.vo_role,
      status: r.status,
      cloudType: r.cloud_type,
      imageId: r.image_id,
      earliestStartTime: r.earliest_start,
      latestStartTime: r.latest_start,
      wallDuration: sumOrNull(r.wall, r.wall_n),
      cpuDuration: sumOrNull(r.cpu, r.cpu_n),
      cpuCount: r.cpu_count,
      networkInbound: sumOrNull(r.net_in, r.net_in_n),
      networkOutbound: sumOrNull(r.net_out, r.net_out_n),
      memory: sumOrNull(r.memory, r.memory_n),
      disk: sumOrNull(r.disk, r.disk_n),
      benchmarkType: r.benchmark_type,
      benchmark: r.benchmark,
      numberOfVms: r.vms,
    })),
  );
}

export interface VmMonthView {
  vmUuid: string;
  ym: YearMonth;
  siteName: string;
  status: string | null;
  keptEventId: string;
  cumulative: Figures;
  difference: Figures;
}

/** The VM-months of one site's VM, oldest first. */
export function queryVmMonths(db: Database.Database, siteName: string, vmUuid: string): VmMonthView[] {
  const rows = db
    .prepare('SELECT * FROM acc_vm_months WHERE site_name = ? AND vm_uuid = ? ORDER BY ym')
    .all(siteName, vmUuid) as VmMonthRow[];
  return rows.map((r) => ({
    vmUuid: r.vm_uuid,
    ym: r.ym,
    siteName: r.site_name,
    status: r.status,
    keptEventId: r.kept_event_id,
    cumulative: figuresOf(r),
    difference: diffsOf(r),
  }));
}

export interface QualityFlag {
  kind: string;
  siteName: string;
  vmUuid: string;
  ym: YearMonth | null;
  eventId: string | null;
  detail: string;
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

export function queryQualityFlags(db: Database.Database, site?: string): QualityFlag[] {
  return (
    db
      .prepare(
        'SELECT * FROM acc_flags WHERE (@site IS NULL OR site_name = @site) ORDER BY site_name, vm_uuid, ym, kind, id',
      )
      .all({ site: site ?? null }) as FlagRow[]
  ).map((r) => ({
    kind: r.kind,
    siteName: r.site_name,
    vmUuid: r.vm_uuid,
    ym: r.ym,
    eventId: r.event_id,
    detail: r.detail,
  }));
}

/** The silent-site rule: a site whose last record was received more than this long before `now`. */
export const SILENT_AFTER_SECONDS = 7 * 86_400;

export interface SilentSite {
  siteName: string;
  lastReceivedAt: number;
  silentForSeconds: number;
}

/** Sites that have published before but nothing in the last 7 days, judged at `now` (epoch seconds). */
export function querySilentSites(db: Database.Database, now: number): SilentSite[] {
  return (
    db
      .prepare('SELECT site_name, last_received_at FROM acc_sites WHERE last_received_at < ? ORDER BY site_name')
      .all(now - SILENT_AFTER_SECONDS) as { site_name: string; last_received_at: number }[]
  ).map((r) => ({
    siteName: r.site_name,
    lastReceivedAt: r.last_received_at,
    silentForSeconds: now - r.last_received_at,
  }));
}

export interface QuarantinedRecord {
  sourceMessageId: string;
  /** null: the message as a whole was unreadable. */
  recordIndex: number | null;
  line: number | null;
  lastLine: number | null;
  siteName: string | null;
  /** The record's text, cut at RECORD_EXCERPT_CHARS; the message's full text stays in the event log. */
  recordExcerpt: string;
  recordLength: number;
  errors: RecordError[];
  receivedAt: string;
  publisher: string;
  resolution: string | null;
}

export interface QuarantineFilter {
  site?: string | null;
  includeResolved?: boolean;
  /** Only this message's records. */
  sourceMessageId?: string;
}

/** Where a quarantined record sorts in listings: receipt, message, record. */
export type QuarantineKey = [receivedAt: string, sourceMessageId: string, recordIndex: number];

interface QuarantineRow {
  source_message_id: string;
  record_index: number;
  line: number | null;
  last_line: number | null;
  site_name: string | null;
  record_excerpt: string;
  record_length: number;
  errors: string;
  received_at: string;
  publisher: string;
  resolution: string | null;
}

const quarantinedRecord = (r: QuarantineRow): QuarantinedRecord => ({
  sourceMessageId: r.source_message_id,
  recordIndex: r.record_index === 0 ? null : r.record_index,
  line: r.line,
  lastLine: r.last_line,
  siteName: r.site_name,
  recordExcerpt: r.record_excerpt,
  recordLength: r.record_length,
  errors: JSON.parse(r.errors) as RecordError[],
  receivedAt: r.received_at,
  publisher: r.publisher,
  resolution: r.resolution,
});

/** The quarantined records matching `filter` in listing order, after `after` and at most `limit` (all: no limit). */
export function queryQuarantine(
  db: Database.Database,
  filter: QuarantineFilter = {},
  page: { after?: QuarantineKey; limit?: number } = {},
): QuarantinedRecord[] {
  const [afterReceived, afterMessage, afterIndex] = page.after ?? [null, null, null];
  const rows = db
    .prepare(
      `SELECT * FROM acc_quarantine WHERE (@site IS NULL OR site_name = @site) AND (@all = 1 OR resolution IS NULL)
         AND (@message IS NULL OR source_message_id = @message)
         AND (@afterReceived IS NULL OR (received_at, source_message_id, record_index) > (@afterReceived, @afterMessage, @afterIndex))
       ORDER BY received_at, source_message_id, record_index LIMIT @limit`,
    )
    .all({
      site: filter.site ?? null,
      all: filter.includeResolved ? 1 : 0,
      message: filter.sourceMessageId ?? null,
      afterReceived,
      afterMessage,
      afterIndex,
      limit: page.limit ?? -1,
    }) as QuarantineRow[];
  return rows.map(quarantinedRecord);
}

/** The listing key of a quarantined record (a cursor's content). */
export const quarantineKey = (q: QuarantinedRecord): QuarantineKey => [
  q.receivedAt,
  q.sourceMessageId,
  q.recordIndex ?? 0,
];

/** One quarantined record, or undefined. */
export function findQuarantined(
  db: Database.Database,
  sourceMessageId: string,
  recordIndex: number | null,
): QuarantinedRecord | undefined {
  const row = db
    .prepare('SELECT * FROM acc_quarantine WHERE source_message_id = ? AND record_index = ?')
    .get(sourceMessageId, recordIndex ?? 0) as QuarantineRow | undefined;
  return row && quarantinedRecord(row);
}

/**
 * Settling a batch's records into VM-months and summary groups, so that each
 * VM-month and each group is written once per batch:
 * - A VM-month is settled against its VM's latest kept month, which a cache
 *   holds for the opened file. A record for that month or a later one, the
 *   usual case, reads nothing; a late record reads its neighbours from the
 *   file, shifts the next month's difference, and drops the VM from the cache.
 * - A VM reporting again within its month and group updates only the columns
 *   that can change.
 * - Each touched group gets its summed change (sums, counts of non-null terms,
 *   NumberOfVMs, CloudType of the batch's latest record) in one statement; an
 *   emptied group is deleted. A group is recomputed from its VM-months only
 *   when a VM-month leaves it or a start time changes (min/max cannot be
 *   subtracted).
 */
import type Database from 'better-sqlite3';
import type { CloudUsageRecord } from '../../src/events/catalogue.ts';
import type { YearMonth } from '../../src/accounting/measurement.ts';
import {
  CUMULATIVE,
  type Figures,
  groupKey,
  hasNegative,
  monthlyDifferences,
  vmMonthOf,
} from '../../src/accounting/summary.ts';
import { diffsOf, figuresOf, type SummedMeasures, type VmMonthRow } from './schema.ts';

/** A record waiting to be settled into its VM-month at the end of the batch. */
export interface Pending {
  siteName: string;
  vmUuid: string;
  ym: YearMonth;
  position: number;
  eventId: string;
  receivedAt: number;
  record: CloudUsageRecord;
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

const sameFigures = (a: Figures, b: Figures) => CUMULATIVE.every((f) => a[f] === b[f]);

/**
 * What one VM-month adds to its summary group: per summed measure its sum and its count of non-null terms, named
 * as acc_summaries' columns (a measure whose every term is null reads as null).
 */
type Contribution = SummedMeasures;
const MEASURES = ['wall', 'cpu', 'net_in', 'net_out', 'memory', 'disk'] as const;
const zero = (): Contribution => ({
  wall: 0,
  wall_n: 0,
  cpu: 0,
  cpu_n: 0,
  net_in: 0,
  net_in_n: 0,
  net_out: 0,
  net_out_n: 0,
  memory: 0,
  memory_n: 0,
  disk: 0,
  disk_n: 0,
});
function contribution(diff: Figures, memory: number | null, disk: number | null): Contribution {
  const c = zero();
  const term = (measure: (typeof MEASURES)[number], v: number | null) => {
    if (v === null) return;
    c[measure] = v;
    c[`${measure}_n`] = 1;
  };
  term('wall', diff.wallDuration);
  term('cpu', diff.cpuDuration);
  term('net_in', diff.networkInbound);
  term('net_out', diff.networkOutbound);
  term('memory', memory);
  term('disk', disk);
  return c;
}
const keptContribution = (k: KeptColumns) => contribution(diffsOf(k), k.memory, k.disk);
const minus = (a: Contribution, b: Contribution): Contribution => {
  const c = zero();
  for (const m of MEASURES) {
    c[m] = a[m] - b[m];
    c[`${m}_n`] = a[`${m}_n`] - b[`${m}_n`];
  }
  return c;
};

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

/** The cache is dropped whole when it reaches this many entries, which bounds memory in a long-running process. */
const CACHE_LIMIT = 100_000;

/** A VM's key in the caches: VMUUIDs are unique only within a site. */
export const vmKey = (siteName: string, vmUuid: string) => `${siteName}\u0000${vmUuid}`;

function statements(db: Database.Database) {
  return {
    deleteMonthFlag: db.prepare('DELETE FROM acc_flags WHERE site_name = ? AND vm_uuid = ? AND ym = ? AND kind = ?'),
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
    updateVm: db.prepare(
      `UPDATE acc_vm_months SET kept_position = @kept_position, kept_event_id = @kept_event_id,
         received_at = @received_at, benchmark = @benchmark, cloud_type = @cloud_type, start_time = @start_time,
         end_time = @end_time, memory = @memory, disk = @disk, wall = @wall, cpu = @cpu, net_in = @net_in,
         net_out = @net_out, d_wall = @d_wall, d_cpu = @d_cpu, d_net_in = @d_net_in, d_net_out = @d_net_out
       WHERE ym = @ym AND site_name = @site_name AND vm_uuid = @vm_uuid`,
    ),
    // An upsert, not INSERT OR REPLACE: a VM-month changing group keeps its other index entries untouched.
    upsertVm: db.prepare(
      `INSERT INTO acc_vm_months (kept_position, kept_event_id, received_at, benchmark, cloud_type, start_time, end_time,
         memory, disk, wall, cpu, net_in, net_out, d_wall, d_cpu, d_net_in, d_net_out, ym, site_name, vm_uuid,
         group_key, cloud_compute_service, global_user_name, vo, vo_group, vo_role, status, image_id, cpu_count,
         benchmark_type)
       VALUES (@kept_position, @kept_event_id, @received_at, @benchmark, @cloud_type, @start_time, @end_time, @memory,
         @disk, @wall, @cpu, @net_in, @net_out, @d_wall, @d_cpu, @d_net_in, @d_net_out, @ym, @site_name, @vm_uuid,
         @group_key, @cloud_compute_service, @global_user_name, @vo, @vo_group, @vo_role, @status, @image_id,
         @cpu_count, @benchmark_type)
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
      `UPDATE acc_summaries SET wall = wall + @wall, wall_n = wall_n + @wall_n, cpu = cpu + @cpu, cpu_n = cpu_n + @cpu_n,
         net_in = net_in + @net_in, net_in_n = net_in_n + @net_in_n, net_out = net_out + @net_out,
         net_out_n = net_out_n + @net_out_n, memory = memory + @memory, memory_n = memory_n + @memory_n,
         disk = disk + @disk, disk_n = disk_n + @disk_n, vms = vms + @vms,
         cloud_type = CASE WHEN @cloudPosition > cloud_position THEN @cloudType ELSE cloud_type END,
         cloud_position = max(cloud_position, @cloudPosition),
         earliest_start = coalesce(min(earliest_start, @earliest), earliest_start, @earliest),
         latest_start = coalesce(max(latest_start, @latest), latest_start, @latest)
       WHERE group_key = @key`,
    ),
    // The grouping columns are bound in `groupKeyValues` order: the key is their JSON.
    insertGroup: db.prepare(
      `INSERT INTO acc_summaries (wall, wall_n, cpu, cpu_n, net_in, net_in_n, net_out, net_out_n, memory, memory_n, disk, disk_n,
         vms, cloud_type, cloud_position, earliest_start, latest_start, group_key, site_name, cloud_compute_service, ym,
         global_user_name, vo, vo_group, vo_role, status, image_id, cpu_count, benchmark_type, benchmark)
       VALUES (@wall, @wall_n, @cpu, @cpu_n, @net_in, @net_in_n, @net_out, @net_out_n, @memory, @memory_n, @disk, @disk_n,
         @vms, @cloudType, @cloudPosition, @earliest, @latest, @key, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteEmptyGroup: db.prepare('DELETE FROM acc_summaries WHERE group_key = ? AND vms = 0'),
    recomputeGroup: db.prepare(
      `UPDATE acc_summaries SET (earliest_start, latest_start, cloud_type, cloud_position) = (
         SELECT min(start_time), max(start_time),
           (SELECT cloud_type FROM acc_vm_months WHERE group_key = @key ORDER BY kept_position DESC LIMIT 1), max(kept_position)
         FROM acc_vm_months WHERE group_key = @key)
       WHERE group_key = @key`,
    ),
  };
}

/** Settles batches into one opened read-model file; its cache holds what the file holds, as of the last batch. */
export class Settlement {
  private readonly stmt;
  /** Per VM (`vmKey`), its `Latest` (null: no VM-month yet), as the file holds it. */
  private readonly latest = new Map<string, Latest | null>();

  constructor(
    db: Database.Database,
    private readonly insertFlag: Database.Statement,
  ) {
    this.stmt = statements(db);
  }

  private latestOf(siteName: string, vmUuid: string): Latest | null {
    const key = vmKey(siteName, vmUuid);
    let latest = this.latest.get(key);
    if (latest === undefined) {
      const [row, before] = this.stmt.getLatest.all(siteName, vmUuid) as KeptColumns[];
      latest = row ? { row, prev: before && figuresOf(before) } : null;
      if (this.latest.size >= CACHE_LIMIT) this.latest.clear();
      this.latest.set(key, latest);
    }
    return latest;
  }

  /** Flags a VM-month whose differences are negative, and drops the flag of one whose differences no longer are. */
  private flagNegative(vm: { vmUuid: string; ym: number; siteName: string }, was: boolean, diff: Figures): void {
    const is = hasNegative(diff);
    if (!was && !is) return;
    this.stmt.deleteMonthFlag.run(vm.siteName, vm.vmUuid, vm.ym, 'negative_difference');
    if (!is) return;
    const parts = CUMULATIVE.filter((f) => (diff[f] ?? 0) < 0).map((f) => `${f} ${diff[f]}`);
    this.insertFlag.run(
      'negative_difference',
      vm.siteName,
      vm.vmUuid,
      vm.ym,
      null,
      `negative monthly difference: ${parts.join(', ')}`,
    );
  }

  /** Writes the batch's records into their VM-months, and the VM-months' changes into their summary groups. */
  settle(pending: Iterable<Pending>): void {
    const { stmt } = this;
    const groups = new Map<string, GroupChange>();
    const recompute = new Set<string>();
    const shift = (key: string, delta: Contribution, vms: number) => {
      let g = groups.get(key);
      if (!g) {
        g = { delta: zero(), vms: 0, cloudType: null, cloudPosition: -1, earliest: null, latest: null };
        groups.set(key, g);
      }
      for (const m of MEASURES) {
        g.delta[m] += delta[m];
        g.delta[`${m}_n`] += delta[`${m}_n`];
      }
      g.vms += vms;
      return g;
    };
    const received = (g: GroupChange, cloudType: string | null, position: number) => {
      if (position < g.cloudPosition) return;
      g.cloudType = cloudType;
      g.cloudPosition = position;
    };

    for (const p of pending) {
      const vm = vmMonthOf(p.record, p.ym, p.position);
      const key = groupKey(vm);
      // A record for the VM's latest month or a later one is settled from the cache; a late one reads its neighbours.
      const latest = this.latestOf(p.siteName, p.vmUuid);
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
      const kept = {
        kept_position: p.position,
        kept_event_id: p.eventId,
        received_at: p.receivedAt,
        benchmark: r.benchmark,
        cloud_type: r.cloudType,
        start_time: r.startTime,
        end_time: r.endTime,
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
        ym: p.ym,
        site_name: p.siteName,
        vm_uuid: p.vmUuid,
      };
      const added = contribution(diff, r.memory, r.disk);
      if (old && old.group_key === key) {
        // The usual case: a running VM reports again within the month.
        stmt.updateVm.run(kept);
        received(shift(key, minus(added, keptContribution(old)), 0), r.cloudType, p.position);
        if (old.start_time !== r.startTime) recompute.add(key);
      } else {
        stmt.upsertVm.run({
          ...kept,
          group_key: key,
          cloud_compute_service: r.cloudComputeService,
          global_user_name: r.globalUserName,
          vo: r.vo,
          vo_group: r.voGroup,
          vo_role: r.voRole,
          status: r.status,
          image_id: r.imageId,
          cpu_count: r.cpuCount,
          benchmark_type: r.benchmarkType,
        });
        if (old) {
          shift(old.group_key, minus(zero(), keptContribution(old)), -1);
          recompute.add(old.group_key);
        }
        const g = shift(key, added, 1);
        received(g, r.cloudType, p.position);
        if (r.startTime !== null) {
          g.earliest = Math.min(g.earliest ?? r.startTime, r.startTime);
          g.latest = Math.max(g.latest ?? r.startTime, r.startTime);
        }
      }
      this.flagNegative(vm, old !== undefined && hasNegative(diffsOf(old)), diff);

      if (!late) {
        this.latest.set(vmKey(p.siteName, p.vmUuid), {
          row: { ...kept, group_key: key },
          prev,
        });
        continue;
      }
      // A late record may change a later month's difference, which the cache would not see: reread the VM next time.
      this.latest.delete(vmKey(p.siteName, p.vmUuid));
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
      this.flagNegative({ vmUuid: next.vm_uuid, ym: next.ym, siteName: next.site_name }, hasNegative(nextOld), nextNew);
    }
    for (const [key, g] of groups) {
      const { delta, vms, cloudType, cloudPosition, earliest, latest } = g;
      const change = { ...delta, vms, cloudType, cloudPosition, earliest, latest, key };
      if (stmt.shiftGroup.run(change).changes === 0) stmt.insertGroup.run(change, ...(JSON.parse(key) as unknown[]));
      else if (g.vms < 0 && stmt.deleteEmptyGroup.run(key).changes > 0) recompute.delete(key);
    }
    for (const key of recompute) stmt.recomputeGroup.run({ key });
  }
}

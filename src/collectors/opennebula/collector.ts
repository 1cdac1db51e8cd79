/**
 * The OpenNebula collector: one.vmpool.accounting for the history records
 * since the cursor (closed ones carry a snapshot of their VM), one.vmpool.info
 * for the VMs that exist now, and one.vm.info for each VM's full history.
 * A VM whose id now belongs to a newer VM is rebuilt from its accounting
 * snapshots alone.
 */
import { performance } from 'node:perf_hooks';
import type { CloudUsageRecord } from '../../events/catalogue.ts';
import type { OpenNebulaSource } from '../config.ts';
import { Secret } from '../secrets.ts';
import {
  accountingNow,
  type CollectContext,
  type CollectionResult,
  type ScopeFailure,
  type StateChangeOut,
} from '../types.ts';
import { isoSeconds } from '../../instant.ts';
import { oneStateChanges, oneUsageRecord, toHistory, toVm, type OneHistory, type OneVm } from './records.ts';
import { OneRpc, parseOneXml } from './xmlrpc.ts';

export const ONE_CLOUD_TYPE = 'fedledger (OpenNebula)';
/** Filter flag: every VM the session may see. */
const ALL_RESOURCES = -2;
/** Cursor scope: one per endpoint. */
export const ONE_SCOPE = 'vmpool';

export class OpenNebulaCollector {
  private readonly rpc: OneRpc;
  private readonly host: string;

  constructor(
    private readonly source: OpenNebulaSource,
    password: Secret,
    private readonly ctx: CollectContext,
  ) {
    this.rpc = new OneRpc(source.rpcUrl, new Secret(`${source.username}:${password.reveal()}`), ctx.policy);
    this.host = new URL(source.rpcUrl).host;
  }

  async collect(cursors: ReadonlyMap<string, string>): Promise<CollectionResult> {
    const asOf = accountingNow(this.ctx.now());
    const cursor = cursors.get(ONE_SCOPE);
    const from = cursor ? Math.floor(Date.parse(cursor) / 1000) : -1;
    const started = performance.now();
    let accounting: OneHistory[];
    let pool: OneVm[];
    let responseMs: number;
    try {
      const xml = await this.rpc.call('one.vmpool.accounting', ALL_RESOURCES, from, -1);
      responseMs = Math.round(performance.now() - started);
      accounting = this.histories(xml);
      pool = this.vms(await this.rpc.call('one.vmpool.info', ALL_RESOURCES, -1, -1, -1), 'VM_POOL');
    } catch (error) {
      const failure = {
        scope: ONE_SCOPE,
        code: (error as { code?: string }).code ?? 'COLLECT_FAILED',
        message: (error as Error).message,
      };
      return {
        records: [],
        stateChanges: [],
        cursors: new Map(),
        snapshot: null,
        failures: [failure],
        reachability: { status: 'CRITICAL', responseMs: null, detail: `oned: ${failure.message}` },
      };
    }

    // VM identity: id + start time (from the record's VM snapshot, or the pool).
    const byKey = new Map<string, { id: number; stime: number; snapshots: OneHistory[] }>();
    const entry = (id: number, stime: number) => {
      const key = `${id}/${stime}`;
      let e = byKey.get(key);
      if (!e) byKey.set(key, (e = { id, stime, snapshots: [] }));
      return e;
    };
    for (const h of accounting) if (h.vm) entry(h.vm.id, h.vm.stime).snapshots.push(h);
    for (const vm of pool) entry(vm.id, vm.stime);

    const records: CloudUsageRecord[] = [];
    const changes: StateChangeOut[] = [];
    const failures: ScopeFailure[] = [];
    let newest = from > 0 ? from : 0;
    for (const h of accounting) newest = Math.max(newest, h.stime, h.etime);
    const entries = [...byKey.values()];
    let done = 0;
    const seen: OneVm[] = [];
    for (const e of entries) {
      this.ctx.progress?.(done, entries.length, `VM ${e.id}`);
      try {
        const { vm, history } = await this.resolve(e);
        seen.push(vm);
        const record = oneUsageRecord(vm, history, {
          siteName: this.source.site,
          endpointHost: this.host,
          cloudType: ONE_CLOUD_TYPE,
          cloudComputeService: this.source.cloudComputeService,
          groupVo: this.source.groupVo,
          asOf,
        });
        records.push(record);
        for (const c of oneStateChanges(vm, history)) {
          changes.push({
            requestId: `${c.seq}-${c.edge}`,
            data: {
              vmUuid: record.vmUuid,
              siteName: this.source.site,
              state: c.state,
              previousState: c.previousState,
              at: isoSeconds(c.at),
              source: `opennebula:${this.source.name}`,
            },
          });
        }
      } catch (error) {
        failures.push({
          scope: `vm ${e.id}`,
          code: (error as { code?: string }).code ?? 'COLLECT_FAILED',
          message: (error as Error).message,
        });
      }
      this.ctx.progress?.(++done, entries.length, `VM ${e.id}`);
    }
    // A VM that failed keeps the cursor where it was, so its records are fetched again next run.
    const cursorOut = failures.length ? cursor : newest > 0 ? isoSeconds(newest) : undefined;
    return {
      records,
      stateChanges: changes,
      cursors: cursorOut ? new Map([[ONE_SCOPE, cursorOut]]) : new Map(),
      failures,
      snapshot: this.snapshot(seen),
      reachability: {
        status: failures.length ? 'WARNING' : 'OK',
        responseMs,
        detail: `oned answered in ${responseMs} ms; ${records.length}/${entries.length} VMs collected`,
      },
    };
  }

  /** The VM and its full history; from one.vm.info unless the id was reused by a newer VM. */
  private async resolve(e: {
    id: number;
    stime: number;
    snapshots: OneHistory[];
  }): Promise<{ vm: OneVm; history: OneHistory[] }> {
    const info = this.vms(await this.rpc.call('one.vm.info', e.id), 'VM')[0];
    if (info && info.stime === e.stime) {
      const history = info.history.map((h) => ({ ...h, vm: e.snapshots.find((s) => s.seq === h.seq)?.vm ?? null }));
      return { vm: info, history };
    }
    const snapshots = [...e.snapshots].sort((a, b) => a.seq - b.seq);
    const latest = snapshots.at(-1)!.vm!;
    return { vm: latest, history: snapshots };
  }

  private histories(xml: string): OneHistory[] {
    const doc = parseOneXml(xml) as { HISTORY_RECORDS?: { HISTORY?: Record<string, unknown>[] } | string };
    const list = typeof doc.HISTORY_RECORDS === 'object' ? (doc.HISTORY_RECORDS.HISTORY ?? []) : [];
    return list.map((h, i) => toHistory(h, `${this.source.name} one.vmpool.accounting HISTORY[${i}]`));
  }

  private vms(xml: string, root: 'VM_POOL' | 'VM'): OneVm[] {
    const doc = parseOneXml(xml) as Record<string, unknown>;
    const where = `${this.source.name} ${root}`;
    if (root === 'VM') return ((doc['VM'] as Record<string, unknown>[] | undefined) ?? []).map((v) => toVm(v, where));
    const poolNode = doc['VM_POOL'];
    const list =
      poolNode && typeof poolNode === 'object' ? ((poolNode as { VM?: Record<string, unknown>[] }).VM ?? []) : [];
    return list.map((v) => toVm(v, where));
  }

  private snapshot(vms: readonly OneVm[]): CollectionResult['snapshot'] {
    const groups = new Map<string, { running: number; total: number }>();
    const images = new Map<string, { id: string; name: string; marketplaceUrl: string | null }>();
    for (const vm of vms) {
      if (vm.state === 6) continue;
      const g = groups.get(vm.gname) ?? { running: 0, total: 0 };
      g.total++;
      if (vm.state === 3) g.running++;
      groups.set(vm.gname, g);
      for (const d of vm.disks)
        if (d.imageId !== null)
          images.set(d.imageId, { id: d.imageId, name: d.image ?? d.imageId, marketplaceUrl: d.marketplaceUri });
    }
    return {
      middleware: 'opennebula',
      endpoints: [{ url: this.source.rpcUrl, type: 'opennebula', interface: 'public', region: null }],
      images: [...images.values()].map((i) => ({
        ...i,
        osName: null,
        osVersion: null,
        architecture: null,
        description: null,
      })),
      flavors: [],
      shares: [...groups].map(([gname, g]) => ({
        projectId: gname,
        projectName: gname,
        vo: this.source.groupVo[gname] ?? gname,
        runningVm: g.running,
        totalVm: g.total,
      })),
    };
  }
}

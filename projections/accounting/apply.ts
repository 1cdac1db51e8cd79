/**
 * The `accounting` projection: the VM-month table (last received wins),
 * monthly differences, APEL's monthly cloud summary, data-quality flags, the
 * quarantine of rejected records, and when each site's records arrived.
 * The records themselves stay in their VM streams (drill-downs read them there).
 * A VM is a site's VMUUID, here as in the streams (docs/accounting.md).
 *
 * Writes are laid out for batches of records arriving roughly in time order:
 * VM-months are keyed month first, so a batch rewrites the current month's
 * pages instead of pages all over the table. (A per-record index keyed by VM
 * cost a third of the projection's time at 1M records: each batch dirtied a
 * page per record.) A record writes only its flags and a VM's first sighting
 * at a site, and the latest record per VM-month waits for the end of the
 * batch, which settles them (settle.ts).
 */
import type Database from 'better-sqlite3';
import { measurementTime, recordFlags, yearMonthOf } from '../../src/accounting/measurement.ts';
import type { EventData } from '../../src/events/catalogue.ts';
import type { ApplyContext, AppliedEvent, Projection } from '../../src/projection/projection.ts';
import { SCHEMA } from './schema.ts';
import { type Pending, Settlement, vmKey } from './settle.ts';

/** The cache of VMs known to the file is dropped whole at this size, which bounds memory in a long-running process. */
const CACHE_LIMIT = 100_000;

const epochSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

function statements(db: Database.Database) {
  return {
    addReceipt: db.prepare('INSERT OR IGNORE INTO acc_receipts (site_name, received_at) VALUES (?, ?)'),
    addVmSite: db.prepare('INSERT OR IGNORE INTO acc_vm_sites (vm_uuid, site_name) VALUES (?, ?)'),
    otherVmSite: db.prepare('SELECT 1 FROM acc_vm_sites WHERE vm_uuid = ? AND site_name <> ? LIMIT 1'),
    insertFlag: db.prepare(
      'INSERT INTO acc_flags (kind, site_name, vm_uuid, ym, event_id, detail) VALUES (?, ?, ?, ?, ?, ?)',
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

/** The projection on one opened file: its statements and what it knows the file holds. */
class AccountingFile {
  private readonly stmt;
  private readonly settlement;
  /** VMs (`vmKey`) the file holds in acc_vm_sites. */
  private readonly vmSites = new Set<string>();
  /** The records of a message share their receipt time: its text is parsed once per message, not per record. */
  private receivedIso = '';
  private receivedAt = 0;

  constructor(db: Database.Database) {
    this.stmt = statements(db);
    this.settlement = new Settlement(db, this.stmt.insertFlag);
  }

  apply(batch: readonly AppliedEvent[], ctx: ApplyContext): void {
    const pending = new Map<string, Pending>();
    /** Per site, the receipt times of the batch's records. */
    const receipts = new Map<string, Set<number>>();
    for (const { event, id, position } of batch) {
      switch (event.type) {
        case 'CloudUsageRecorded': {
          const p = this.record(event.data, id, Number(position));
          if (p) pending.set(`${vmKey(p.siteName, p.vmUuid)}\u0000${p.ym}`, p);
          const site = event.data.record.siteName;
          const times = receipts.get(site);
          if (times) times.add(this.receivedAt);
          else receipts.set(site, new Set([this.receivedAt]));
          break;
        }
        case 'CloudRecordRejected':
          this.rejected(event.data);
          ctx.changed('accounting:quarantine');
          break;
        case 'QuarantineResolved': {
          const d = event.data;
          this.stmt.resolveQuarantine.run(d.resolution, d.resolvedAt, d.by, d.sourceMessageId, d.recordIndex ?? 0);
          ctx.changed('accounting:quarantine');
          break;
        }
      }
    }
    if (pending.size === 0 && receipts.size === 0) return;
    this.settlement.settle(pending.values());
    for (const [site, times] of receipts) {
      for (const at of times) this.stmt.addReceipt.run(site, at);
      ctx.changed(`site:${site}`);
    }
    ctx.changed('accounting:summaries');
  }

  /** Writes a record's flags and its VM's first sighting at its site; returns it to settle, if it has a month. */
  private record(data: EventData<'CloudUsageRecorded'>, id: string, position: number): Pending | undefined {
    const { record } = data;
    const { stmt } = this;
    if (data.receivedAt !== this.receivedIso) {
      this.receivedIso = data.receivedAt;
      this.receivedAt = epochSeconds(this.receivedIso);
    }
    const { receivedAt } = this;
    const measured = measurementTime(record);
    const ym = measured === null ? null : yearMonthOf(measured);
    const vm = vmKey(record.siteName, record.vmUuid);
    if (!this.vmSites.has(vm)) {
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
      if (this.vmSites.size >= CACHE_LIMIT) this.vmSites.clear();
      this.vmSites.add(vm);
    }
    for (const flag of recordFlags(record, receivedAt))
      stmt.insertFlag.run(flag.kind, record.siteName, record.vmUuid, ym, id, flag.detail);
    if (ym === null) return undefined;
    return { siteName: record.siteName, vmUuid: record.vmUuid, ym, position, eventId: id, receivedAt, record };
  }

  private rejected(d: EventData<'CloudRecordRejected'>): void {
    this.stmt.insertQuarantine.run(
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
  }
}

export const accountingProjection: Projection = {
  name: 'accounting',
  version: 5,
  eventTypes: ['CloudUsageRecorded', 'CloudRecordRejected', 'QuarantineResolved'],
  setup(db) {
    db.exec(SCHEMA);
  },
  open: (db) => new AccountingFile(db),
};

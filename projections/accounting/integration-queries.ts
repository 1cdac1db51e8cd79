/**
 * What the integration status (src/integration/) needs from the accounting read model: when each site's
 * records arrived and were rejected, and the VM-months whose kept record arrived in a window. The read model keeps
 * a VM's last record per month only, so the window counts those kept records, not every record sent.
 */
import type Database from 'better-sqlite3';

/** Rows of (site, epoch seconds) in order, as a list per site. */
function bySite(rows: ReadonlyArray<readonly [string, number]>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [site, at] of rows) {
    const list = out.get(site);
    if (list) list.push(at);
    else out.set(site, [at]);
  }
  return out;
}

/** Per site: the epoch seconds of every receipt of accepted records, ascending. */
export function receiptTimes(db: Database.Database): Map<string, number[]> {
  return bySite(
    db.prepare('SELECT site_name, received_at FROM acc_receipts ORDER BY site_name, received_at').raw().all() as Array<
      [string, number]
    >,
  );
}

/** Per site named in the record: the epoch seconds each rejected record was received, ascending. */
export function rejectionTimes(db: Database.Database): Map<string, number[]> {
  const rows = db
    .prepare('SELECT site_name, received_at FROM acc_quarantine WHERE site_name IS NOT NULL ORDER BY received_at')
    .raw()
    .all() as Array<[string, string]>;
  return bySite(rows.map(([site, iso]) => [site, Math.floor(Date.parse(iso) / 1000)] as const));
}

/**
 * Per site: the VM-months whose kept record was received in (from, to] (epoch seconds) and their distinct VMs. A VM
 * that sent any record in the window has its month's kept record in it too (the last received is kept), so the VM
 * count is exact.
 */
export function keptInWindow(
  db: Database.Database,
  from: number,
  to: number,
): Map<string, { records: number; vms: number }> {
  const rows = db
    .prepare(
      `SELECT site_name, count(*) AS records, count(DISTINCT vm_uuid) AS vms FROM acc_vm_months
       WHERE received_at > ? AND received_at <= ? GROUP BY site_name`,
    )
    .all(from, to) as Array<{ site_name: string; records: number; vms: number }>;
  return new Map(rows.map((r) => [r.site_name, { records: r.records, vms: r.vms }]));
}

/** Every site that has had records accepted. */
export function accountedSites(db: Database.Database): string[] {
  return db.prepare('SELECT DISTINCT site_name FROM acc_receipts ORDER BY site_name').pluck().all() as string[];
}

/** Per VO: the first and last month (YYYYMM) with VM-months, up to `to` (YYYYMM): the report's user communities. */
export function voUsageSpans(db: Database.Database, to: number): Array<{ vo: string; first: number; last: number }> {
  return db
    .prepare(
      `SELECT vo, min(ym) AS first, max(ym) AS last FROM acc_summaries
       WHERE vo IS NOT NULL AND vms > 0 AND ym <= ? GROUP BY vo ORDER BY vo`,
    )
    .all(to) as Array<{ vo: string; first: number; last: number }>;
}

/** `fedledger sites status` as a readable table: one line per site, then why each failing check fails. */
import type { SiteIntegration } from './status.ts';

const HEADERS = ['SITE', 'STATE', 'SINCE', 'ACCOUNTING', 'MONITORING', 'INFORMATION'] as const;

export function integrationTable(statuses: readonly SiteIntegration[]): string {
  const rows = statuses.map((s) => [
    s.site,
    s.state,
    s.since ?? '-',
    ...s.checks.map((c) => (c.passed ? 'ok' : 'failing')),
  ]);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [line(HEADERS)];
  for (const [i, s] of statuses.entries()) {
    out.push(line(rows[i]!));
    for (const c of s.checks) for (const reason of c.reasons) out.push(`    ${c.name}: ${reason}`);
  }
  return `${out.join('\n')}\n`;
}

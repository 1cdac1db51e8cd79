/**
 * The report as one self-contained HTML page: inline CSS, inline SVG charts,
 * no scripts and no external assets, so it can be mailed or archived as is.
 * Coordinates are written with fixed decimals so the page is byte-stable.
 */
import type { ReportContent, Table } from './model.ts';
import { reportOutline } from './outline.ts';
import { displayCell } from './render-markdown.ts';
import { formatCell, isNumeric, readableCell, VM_MONTHS } from './render-tables.ts';

export function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

const n = (v: number) => v.toFixed(1);

/** The smallest 1, 2 or 5 × 10^k not below `value` (1 for nothing to show). */
export function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((c) => c >= value)!;
}

/** Vertical bars of CPU-core hours per month; the period's own months are highlighted. */
export function monthlyUsageChart(c: ReportContent): string {
  const width = 720;
  const height = 260;
  const left = 70;
  const bottom = 40;
  const top = 20;
  const plotH = height - top - bottom;
  const max = niceCeiling(Math.max(...c.monthly.map((m) => m.cpuCoreHours)));
  const slot = (width - left - 10) / c.monthly.length;
  const parts: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const y = top + plotH - (plotH * i) / 4;
    parts.push(`<line class="grid" x1="${left}" y1="${n(y)}" x2="${width - 10}" y2="${n(y)}"/>`);
    parts.push(
      `<text class="tick" x="${left - 6}" y="${n(y + 4)}" text-anchor="end">${escapeHtml(readableCell((max * i) / 4, 'int'))}</text>`,
    );
  }
  c.monthly.forEach((m, i) => {
    // Negative differences can make a month's sum negative; SVG has no negative heights, so such a bar is empty.
    const h = (plotH * Math.max(m.cpuCoreHours, 0)) / max;
    const x = left + i * slot + slot * 0.15;
    const inPeriod = c.period.months.includes(m.month);
    parts.push(
      `<rect class="${inPeriod ? 'bar current' : 'bar'}" x="${n(x)}" y="${n(top + plotH - h)}" width="${n(slot * 0.7)}" height="${n(h)}"><title>${m.month}: ${readableCell(m.cpuCoreHours, 'hours')} CPU-core hours, ${readableCell(m.wallHours, 'hours')} wall hours, ${readableCell(m.vms, 'int')} ${VM_MONTHS}</title></rect>`,
    );
    parts.push(
      `<text class="tick" x="${n(x + slot * 0.35)}" y="${height - bottom + 16}" text-anchor="middle">${m.month.slice(2)}</text>`,
    );
  });
  parts.push(
    `<text class="label" x="12" y="${n(top + plotH / 2)}" transform="rotate(-90 12 ${n(top + plotH / 2)})" text-anchor="middle">CPU-core hours</text>`,
  );
  return `<svg class="chart" id="chart-monthly-usage" role="img" aria-label="Federation CPU-core hours per month" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}

/** Horizontal bars of each site's availability, with the target as a dashed line. */
export function siteAvailabilityChart(c: ReportContent): string {
  const width = 720;
  const left = 200;
  const right = 60;
  const row = 22;
  const top = 24;
  const height = top + row * Math.max(c.sites.length, 1) + 24;
  const plotW = width - left - right;
  const x = (pct: number) => left + (plotW * pct) / 100;
  const parts: string[] = [];
  for (const pct of [0, 25, 50, 75, 100]) {
    parts.push(`<line class="grid" x1="${n(x(pct))}" y1="${top - 4}" x2="${n(x(pct))}" y2="${height - 20}"/>`);
    parts.push(`<text class="tick" x="${n(x(pct))}" y="${height - 6}" text-anchor="middle">${pct} %</text>`);
  }
  c.sites.forEach((s, i) => {
    const y = top + i * row;
    parts.push(`<text class="tick" x="${left - 8}" y="${y + 15}" text-anchor="end">${escapeHtml(s.site)}</text>`);
    if (s.availability === null) {
      parts.push(`<text class="tick na" x="${left + 4}" y="${y + 15}">n/a</text>`);
      return;
    }
    const under = s.availability < c.targets.availability;
    parts.push(
      `<rect class="${under ? 'bar under' : 'bar'}" x="${left}" y="${y + 3}" width="${n(x(s.availability) - left)}" height="${row - 6}"><title>${escapeHtml(s.site)}: availability ${formatCell(s.availability, 'percent')} %</title></rect>`,
    );
    parts.push(
      `<text class="tick" x="${n(x(s.availability) + 4)}" y="${y + 15}">${formatCell(s.availability, 'percent')}</text>`,
    );
  });
  const target = x(c.targets.availability);
  parts.push(
    `<line class="target" x1="${n(target)}" y1="${top - 8}" x2="${n(target)}" y2="${height - 20}"><title>target ${c.targets.availability} %</title></line>`,
  );
  parts.push(
    `<text class="target-label" x="${n(target)}" y="${top - 10}" text-anchor="middle">target ${c.targets.availability} %</text>`,
  );
  return `<svg class="chart" id="chart-site-availability" role="img" aria-label="Availability per resource centre against the target" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}

function htmlTable(table: Table): string {
  const head = table.columns
    .map((c) => `<th${isNumeric(c) ? ' class="num"' : ''}>${escapeHtml(c.header)}</th>`)
    .join('');
  const body = table.rows
    .map(
      (row) =>
        `<tr>${table.columns.map((c) => `<td${isNumeric(c) ? ' class="num"' : ''}>${escapeHtml(displayCell(row[c.key] ?? null, c, row))}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<table id="table-${table.name}"><caption>${escapeHtml(table.title)} <span class="file">${table.name}.csv</span></caption>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1b1f23;line-height:1.45}
h1{font-size:1.6rem;border-bottom:2px solid #0b5394;padding-bottom:.3rem}h2{font-size:1.3rem;margin-top:2rem;color:#0b5394}h3{font-size:1.05rem}
table{border-collapse:collapse;margin:.8rem 0 1.4rem;font-size:.9rem}caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem}th{background:#f3f6f9}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.file{font-weight:400;color:#57606a;font-size:.8rem;margin-left:.5rem}.empty{color:#57606a}
.chart{display:block;margin:1rem 0;max-width:100%;height:auto}.grid{stroke:#e1e4e8}.tick{font-size:11px;fill:#444}.label{font-size:12px;fill:#444}
.bar{fill:#6c9bd2}.bar.current{fill:#0b5394}.bar.under{fill:#c0392b}.na{fill:#888}.target{stroke:#c0392b;stroke-width:2;stroke-dasharray:6 4}.target-label{font-size:11px;fill:#c0392b}
`;

export function renderHtml(content: ReportContent): string {
  const body: string[] = [];
  for (const block of reportOutline(content)) {
    if (block.kind === 'heading') body.push(`<h${block.level}>${escapeHtml(block.text)}</h${block.level}>`);
    else if (block.kind === 'paragraph') body.push(`<p>${escapeHtml(block.text)}</p>`);
    else if (block.kind === 'chart')
      body.push(block.chart === 'monthly-usage' ? monthlyUsageChart(content) : siteAvailabilityChart(content));
    else
      body.push(
        block.table.rows.length
          ? htmlTable(block.table)
          : `<p class="empty"><strong>${escapeHtml(block.table.title)}</strong>: ${escapeHtml(block.whenEmpty)}</p>`,
      );
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="fedledger-period" content="${escapeHtml(content.period.name)}">
<meta name="fedledger-log-position" content="${escapeHtml(content.position)}">
<title>Technical board report ${escapeHtml(content.period.name)}</title>
<style>${STYLE}</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}

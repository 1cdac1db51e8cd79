/**
 * The report as GitHub-flavoured Markdown: the outline's headings, sentences
 * and tables. Charts are only in the HTML; their figures are in the tables.
 */
import type { Cell, Column, ReportContent, Table } from './model.ts';
import { reportOutline } from './outline.ts';
import { cellFormat, isNumeric, readableCell } from './render-tables.ts';

/** A cell for display: empty numbers read `n/a` (or what the column says an empty value means). */
export function displayCell(value: Cell, column: Column, row: Record<string, Cell>): string {
  if (value === null) return column.whenEmpty ?? (isNumeric(column) ? 'n/a' : '');
  return readableCell(value, cellFormat(column, row));
}

function markdownTable(table: Table): string {
  const escape = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const lines = [
    `| ${table.columns.map((c) => escape(c.header)).join(' | ')} |`,
    `| ${table.columns.map((c) => (isNumeric(c) ? '---:' : '---')).join(' | ')} |`,
  ];
  for (const row of table.rows)
    lines.push(`| ${table.columns.map((c) => escape(displayCell(row[c.key] ?? null, c, row))).join(' | ')} |`);
  return lines.join('\n');
}

export function renderMarkdown(content: ReportContent): string {
  const parts: string[] = [];
  for (const block of reportOutline(content)) {
    if (block.kind === 'heading') parts.push(`${'#'.repeat(block.level)} ${block.text}`);
    else if (block.kind === 'paragraph') parts.push(block.text);
    else if (block.kind === 'table')
      parts.push(
        block.table.rows.length
          ? `**${block.table.title}** (\`${block.table.name}.csv\`)\n\n${markdownTable(block.table)}`
          : `**${block.table.title}**: ${block.whenEmpty}`,
      );
  }
  return `${parts.join('\n\n')}\n`;
}

/**
 * A plain-text table: the first column left-aligned, the others right-aligned (they hold figures), unless
 * `leftAligned` names more columns (by index) to align left, such as a trailing column of words.
 */
export function formatTable(
  headers: string[],
  rows: Array<Array<string | number>>,
  leftAligned: readonly number[] = [],
): string {
  const cells = [headers, ...rows.map((row) => row.map((cell) => formatCell(cell)))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((cell, column) =>
        column === 0 || leftAligned.includes(column)
          ? cell.padEnd(widths[column]!)
          : cell.padStart(widths[column]!),
      )
      .join('  ')
      .trimEnd();
  return [line(cells[0]!), widths.map((width) => '-'.repeat(width)).join('  '), ...cells.slice(1).map(line)]
    .map((text) => `  ${text}`)
    .join('\n');
}

function formatCell(cell: string | number): string {
  return typeof cell === 'number' ? cell.toLocaleString('en-US', { maximumFractionDigits: 3 }) : cell;
}

/** A section heading for a summary. */
export function heading(text: string): string {
  return `\n${text}\n${'='.repeat(text.length)}`;
}

import { formatTable, heading } from '../support/table';
import type { SectionName } from './options';
import { SECTIONS } from './sections';
import type { Results, SummaryRow, Target } from './section';

const COLUMNS: Array<{ key: keyof SummaryRow; header: string }> = [
  { key: 'row', header: 'measure' },
  { key: 'ours', header: 'ours' },
  { key: 'p50', header: 'p50 ms' },
  { key: 'p99', header: 'p99 ms' },
  { key: 'ceiling', header: 'ceiling simple /s · p50/p99' },
  { key: 'ceilingPrepared', header: 'ceiling prepared' },
  { key: 'peer', header: 'peer /s · p50/p99' },
  { key: 'before', header: 'before p50/p99' },
  { key: 'vsCeiling', header: '÷ceiling' },
  { key: 'vsPeer', header: '÷peer' },
  { key: 'notes', header: 'notes' },
];

/** The summary rows of the sections that ran, in section order (the closed-loop rows also when only the ceiling or the peer ran). */
export function summaryRows(results: Results, ran: readonly SectionName[]): SummaryRow[] {
  const names = new Set<SectionName>(ran);
  if (names.has('ceiling') || names.has('peer')) names.add('closed');
  return (Object.keys(SECTIONS) as SectionName[])
    .filter((name) => names.has(name))
    .flatMap((name) => SECTIONS[name].rows(results));
}

export function collectTargets(results: Results, ran: readonly SectionName[]): Target[] {
  return ran.flatMap((name) => SECTIONS[name].targets(results));
}

/** The one summary table, then the targets with PASS/MISS (a benchmark: reported, never asserted). */
export function formatSummary(title: string, rows: SummaryRow[], targets: Target[]): string {
  // Columns nobody filled (the ceiling when it did not run, say) are left out.
  const used = COLUMNS.filter(
    (column) =>
      column.key === 'row' || rows.some((row) => row[column.key] !== undefined && row[column.key] !== ''),
  );
  const table = formatTable(
    used.map((column) => column.header),
    rows.map((row) => used.map((column) => row[column.key] ?? '')),
    [used.findIndex((column) => column.key === 'notes')].filter((index) => index >= 0),
  );
  const targetTable = formatTable(
    ['target', 'goal', 'result', 'measured'],
    targets.map((target) => [
      target.name,
      target.goal,
      target.pass === null ? 'n/a' : target.pass ? 'PASS' : 'MISS',
      target.measured,
    ]),
    [1, 2, 3],
  );
  return [heading(title), '', table, '', 'Targets (reported, never asserted):', '', targetTable].join('\n');
}

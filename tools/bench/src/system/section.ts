import type { Cleanup, Deadline } from '../support/harness';
import type { Dataset } from './dataset';
import type { SectionName, SystemOptions } from './options';
import type { Servers } from './servers';
import type { SystemStack } from './stack';

/** What a section gets: the run's options, time limit and cleanup, the servers, the stack and the dataset. */
export interface SectionContext {
  options: SystemOptions;
  deadline: Deadline;
  cleanup: Cleanup;
  servers: Servers;
  stack: SystemStack;
  dataset: Dataset;
  /** What the sections that ran before returned, by name. */
  results: Results;
  /**
   * How long to wait for the projections to catch up after a load: --drain-timeout, less when the
   * global timeout is near (the report must still be written).
   */
  drainMs(): number;
  /** Prints a step (`▶ …`) or a detail line (indented). */
  step(text: string): void;
  note(text: string): void;
}

/** Every section's JSON result, by section name (a section that did not run is absent). */
export type Results = Partial<Record<SectionName, unknown>>;

/**
 * One row of the summary table. `ours` is this system's figure; `ceiling`, `peer`, `before` and the ratios
 * sit beside it where there is something to compare with; `notes` carries the rest in words.
 */
export interface SummaryRow {
  row: string;
  ours?: string | number;
  p50?: number | string;
  p99?: number | string;
  ceiling?: string;
  ceilingPrepared?: string;
  peer?: string;
  /** The same measure on the design before (an earlier commit), where a section measures it. */
  before?: string;
  vsCeiling?: string;
  vsPeer?: string;
  notes?: string;
}

/** A goal with its measured value: PASS or MISS is reported, never asserted. */
export interface Target {
  name: string;
  goal: string;
  measured: string;
  /** null when the sections it needs did not run or measured nothing. */
  pass: boolean | null;
}

/**
 * A section of the benchmark: `run` measures and returns its JSON; `rows` and `targets` read every
 * section's results (a row may put another section's figure beside its own, like the ceiling beside the
 * closed loop), so they are asked for once all sections have run. Add a section by writing one of these
 * and listing it in `SECTIONS` (sections.ts) and `SECTION_NAMES` (options.ts).
 */
export interface Section<R> {
  name: SectionName;
  /** The least time it takes with these options (without waits for a backlog): a section that would not fit in what is left of the global timeout is skipped. */
  estimateSeconds(options: SystemOptions): number;
  run(context: SectionContext): Promise<R>;
  rows(results: Results): SummaryRow[];
  targets(results: Results): Target[];
}

/** Ratio a ÷ b to two decimals, or undefined when b is nothing. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !(b > 0)) return undefined;
  return Math.round((a / b) * 100) / 100;
}

export const formatRatio = (value: number | undefined) => (value === undefined ? '—' : `${value}×`);

export const formatCount = (value: number) => Math.round(value).toLocaleString('en-US');

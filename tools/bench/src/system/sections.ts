import { ceilingSection } from './ceiling';
import { closedSection } from './closed';
import { groupsSection } from './groups';
import { liveSection } from './live';
import { openSection } from './open';
import type { SectionName } from './options';
import { peerSection } from './peer';
import { readSection } from './read';
import type { Section } from './section';
import { systemSection } from './system-figures';
import { tracingSection } from './tracing';

/**
 * Every section by name. They run in the order of `SECTION_NAMES` (options.ts), and the summary table
 * lists their rows in that order too.
 */
export const SECTIONS: Record<SectionName, Section<unknown>> = {
  closed: closedSection as Section<unknown>,
  peer: peerSection as Section<unknown>,
  ceiling: ceilingSection as Section<unknown>,
  open: openSection as Section<unknown>,
  groups: groupsSection as Section<unknown>,
  read: readSection as Section<unknown>,
  live: liveSection as Section<unknown>,
  tracing: tracingSection as Section<unknown>,
  system: systemSection as Section<unknown>,
};

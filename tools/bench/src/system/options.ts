import { parseOptions, type OptionValues } from '../support/options';

export const USAGE = `npm run bench:system -- [options]

The whole system as deployed: the three built services (dist/apps/<app>/main.js, as \`npm start\` runs
them, LOG_LEVEL=warn) as separate processes on the local PostgreSQL and NATS JetStream, every consumer
running, on a persistent database (--database) and stream (--stream) that are built once (200 groups of
10 and 8 of 1,000 members through GroupService, 1,000,000 bulk-loaded messages, a warm-up) and reused by
later runs (--rebuild builds them again). Sections, in this order: closed (closed-loop Send), peer
(ejabberd MUC+MAM, when installed), ceiling (pgbench running message-service's lone-Send statement),
open (open-loop Send at fixed rates, event and projection lags, membership lag), groups (10- vs
1,000-member groups), read (inbox List of a user in 1,000 conversations, MarkRead calls/s, unread counts
100,000 vs 10 behind; --before measures List of the commit before read state beside it), live (idle
Subscribe streams on one conversation-service, Send → update delivery at 500/s to 2,000 subscribers,
resuming 1,000 subscribers from their cursors), tracing (Send at c=32 with tracing off, then with the
services restarted to export OTLP to a sink in the bench and restarted back; the off path's API no-ops
timed in the bench), system (CPU and memory per Send). Prints one summary
table with PASS/MISS per target and writes JSON to --out. A benchmark, not a test: it never fails on a
figure.`;

/** The sections, in the order they run. */
export const SECTION_NAMES = [
  'closed',
  'peer',
  'ceiling',
  'open',
  'groups',
  'read',
  'live',
  'tracing',
  'system',
] as const;
export type SectionName = (typeof SECTION_NAMES)[number];

const SPECS = {
  sections: {
    type: 'string',
    default: SECTION_NAMES.join(','),
    description: 'sections to run, comma-separated, e.g. closed,ceiling',
  },
  quick: {
    type: 'boolean',
    default: false,
    description:
      'a flag: short durations for development (3 s closed-loop, peer and ceiling levels, 1 s warm-ups, 10 s open-loop rates, 3 s group runs, fewer List/Get calls, 1,000 idle subscribers, 10 s live load, 200 resuming subscribers)',
  },
  timeout: { type: 'number', default: 1_140, min: 60, description: 'global timeout, in seconds' },
  database: {
    type: 'string',
    default: 'bench_system',
    description: 'the persistent database (on the server of DATABASE_URL, else 127.0.0.1:5432)',
  },
  stream: { type: 'string', default: 'BENCH_SYSTEM', description: 'the persistent JetStream stream' },
  'subject-prefix': { type: 'string', default: 'benchsys', description: "the stream's subject prefix" },
  rebuild: {
    type: 'boolean',
    default: false,
    description: 'a flag: drop the database and stream and build them again',
  },
  levels: { type: 'string', default: '1,8,32,64', description: 'closed-loop and ceiling concurrency levels' },
  seconds: { type: 'number', default: 10, min: 1, description: 'measured seconds per closed-loop level' },
  warmup: {
    type: 'number',
    default: 3,
    min: 0,
    description: 'warm-up seconds before each closed-loop level',
  },
  'peer-levels': { type: 'string', default: '1,8,32', description: "the peer's concurrency levels" },
  'peer-dir': {
    type: 'string',
    default: 'tmp/peer-xmpp',
    description: 'where the peer benchmark is (copied from ../shared/peers/xmpp when missing)',
  },
  rates: { type: 'string', default: '500,1000,1500,2000', description: 'open-loop offered rates, msgs/s' },
  'open-seconds': { type: 'number', default: 60, min: 1, description: 'seconds per open-loop rate' },
  'max-outstanding': {
    type: 'number',
    default: 5_000,
    min: 1,
    integer: true,
    description: 'open loop: most Sends awaiting an answer; a Send due beyond it is not issued',
  },
  'membership-rate': {
    type: 'number',
    default: 5,
    min: 0,
    description: 'open loop: AddMembers per second for the membership lag (0 skips it)',
  },
  'poll-ms': {
    type: 'number',
    default: 10,
    min: 1,
    description: 'how often the projections are polled for what they applied',
  },
  'group-seconds': {
    type: 'number',
    default: 10,
    min: 1,
    description: 'groups: seconds of closed-loop Sends per group size',
  },
  'group-senders': {
    type: 'number',
    default: 8,
    min: 1,
    integer: true,
    description: 'groups: closed-loop senders per group size',
  },
  'list-calls': {
    type: 'number',
    default: 500,
    min: 1,
    integer: true,
    description: 'read: sequential List calls per measured page (after a tenth as many to warm up)',
  },
  'get-calls': {
    type: 'number',
    default: 2_000,
    min: 1,
    integer: true,
    description: 'read: Get calls per conversation (100,000 and 10 behind), interleaved',
  },
  before: {
    type: 'boolean',
    default: false,
    description:
      'a flag: read also measures List on the commit before read state (--before-commit), built in a git worktree at --before-dir and run on a throw-away database, then this build on another (adds 1–3 min: npm install, an nx build unless cached, two short stacks); without it the figure recorded by the last such run is shown, marked as such',
  },
  'before-commit': {
    type: 'string',
    default: 'f4b9b0e',
    description: 'read --before: the commit before read state (List without unread counts)',
  },
  'before-dir': {
    type: 'string',
    default: '/tmp/wt-before',
    description: 'read --before: where its git worktree goes (removed afterwards when the bench made it)',
  },
  'idle-subscribers': {
    type: 'number',
    default: 10_000,
    min: 1,
    integer: true,
    description: 'live: idle Subscribe streams held open on one conversation-service',
  },
  'subscriber-channels': {
    type: 'number',
    default: 8,
    min: 1,
    integer: true,
    description: 'live: gRPC channels (HTTP/2 connections) the streams are spread over',
  },
  'live-rate': {
    type: 'number',
    default: 500,
    min: 1,
    description: 'live: open-loop Sends per second, without and then with 2,000 subscribers',
  },
  'live-seconds': {
    type: 'number',
    default: 30,
    min: 1,
    description: 'live: seconds of each open-loop run',
  },
  'resume-groups': {
    type: 'number',
    default: 100,
    min: 1,
    integer: true,
    description: 'live: groups of 10 whose members resume (100 → 1,000 subscribers)',
  },
  'resume-behind': {
    type: 'number',
    default: 100,
    min: 1,
    integer: true,
    description: 'live: messages sent to each resuming group while its members are away',
  },
  'drain-timeout': {
    type: 'number',
    default: 45,
    min: 1,
    description: 'longest wait, in seconds, for the projections to apply what a load produced',
  },
  'run-warmup': {
    type: 'number',
    default: 5,
    min: 0,
    description: 'seconds of Sends at concurrency 32 after the stack starts on a reused database',
  },
  'build-warmup': {
    type: 'number',
    default: 60,
    min: 0,
    description: 'seconds of Sends at concurrency 32 after a first build (a database that has seen traffic)',
  },
  messages: {
    type: 'number',
    default: 1_000_000,
    min: 0,
    integer: true,
    description: 'messages bulk-loaded by a build',
  },
  'history-conversations': {
    type: 'number',
    default: 2_000,
    min: 1,
    integer: true,
    description: 'groups of 10 a build creates to hold the bulk-loaded messages',
  },
  out: { type: 'string', default: 'tmp/bench/system.json', description: 'where the JSON results go' },
} as const;

export type SystemOptions = Omit<
  OptionValues<typeof SPECS>,
  'levels' | 'peer-levels' | 'rates' | 'sections'
> & {
  levels: number[];
  'peer-levels': number[];
  rates: number[];
  sections: SectionName[];
};

/** `--quick`: these replace the defaults (an option given on the command line with another value stays). */
const QUICK: Partial<Record<keyof typeof SPECS, number>> = {
  seconds: 3,
  warmup: 1,
  'open-seconds': 10,
  'group-seconds': 3,
  'drain-timeout': 30,
  'run-warmup': 2,
  'build-warmup': 10,
  'list-calls': 100,
  'get-calls': 300,
  'idle-subscribers': 1_000,
  'live-seconds': 10,
  'resume-groups': 20,
};

export function readOptions(argv: string[] = process.argv.slice(2)): SystemOptions {
  const raw = parseOptions(USAGE, SPECS, argv);
  const values = { ...raw } as Record<string, unknown>;
  if (raw.quick) {
    for (const [name, value] of Object.entries(QUICK)) {
      if (values[name] === (SPECS[name as keyof typeof SPECS] as { default: unknown }).default) {
        values[name] = value;
      }
    }
  }
  const sections = raw.sections
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const unknown = sections.filter((name) => !(SECTION_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0 || sections.length === 0) {
    fail(`--sections takes some of ${SECTION_NAMES.join(', ')}; got ${JSON.stringify(raw.sections)}`);
  }
  if (!/^[a-z_][a-z0-9_]*$/.test(raw.database)) fail(`--database must be a plain lower-case name`);
  if (!/^[A-Z][A-Z0-9_]*$/.test(raw.stream)) fail(`--stream must be an upper-case name`);
  if (!/^[a-z][a-z0-9_]*$/.test(raw['subject-prefix'])) fail(`--subject-prefix must be one lower-case token`);
  return {
    ...(values as OptionValues<typeof SPECS>),
    sections: SECTION_NAMES.filter((name) => sections.includes(name)),
    levels: numbers('levels', raw.levels, 1, 256),
    'peer-levels': numbers('peer-levels', raw['peer-levels'], 1, 256),
    rates: numbers('rates', raw.rates, 1, 100_000),
  };
}

function numbers(name: string, text: string, min: number, max: number): number[] {
  const values = text.split(',').map((value) => Number(value.trim()));
  if (values.length === 0 || values.some((value) => !Number.isInteger(value) || value < min || value > max)) {
    fail(`--${name} must be whole numbers from ${min} to ${max}, comma-separated; got ${text}`);
  }
  return values;
}

function fail(message: string): never {
  process.stderr.write(`${message}\n\n(npm run bench:system -- --help lists the options)\n`);
  process.exit(64);
}

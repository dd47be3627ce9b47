import { parseArgs } from 'node:util';

/** One command-line option of a benchmark: `--events 20000`, `--out tmp/x.json`, `--vacuum-outbox` (a flag). */
export type OptionSpec =
  | { type: 'number'; description: string; default: number; min: number; integer?: boolean }
  | { type: 'string'; description: string; default: string }
  | { type: 'boolean'; description: string; default: false };

export type OptionValues<S extends Record<string, OptionSpec>> = {
  [K in keyof S]: S[K] extends { type: 'number' }
    ? number
    : S[K] extends { type: 'boolean' }
      ? boolean
      : string;
};

/**
 * Parses `--name value` / `--name=value` options; `--help` prints the usage and exits 0, a bad option
 * prints what is wrong and the usage and exits 64.
 */
export function parseOptions<S extends Record<string, OptionSpec>>(
  usage: string,
  specs: S,
  argv: string[] = process.argv.slice(2),
): OptionValues<S> {
  const help = `${usage}\n\nOptions:\n${describeOptions(specs)}\n  --help  this text`;
  let parsed: Record<string, string | boolean | undefined>;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean' },
        ...Object.fromEntries(
          Object.entries(specs).map(([name, spec]) => [
            name,
            { type: spec.type === 'boolean' ? ('boolean' as const) : ('string' as const) },
          ]),
        ),
      },
    }).values;
  } catch (error) {
    return fail(String((error as Error).message), help);
  }
  if (parsed['help']) {
    process.stdout.write(`${help}\n`);
    process.exit(0);
  }
  const values: Record<string, number | string | boolean> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const raw = parsed[name];
    if (spec.type === 'boolean') {
      values[name] = raw === true;
    } else if (typeof raw !== 'string') {
      values[name] = spec.default;
    } else if (spec.type === 'string') {
      values[name] = raw;
    } else {
      const value = Number(raw);
      if (!Number.isFinite(value) || value < spec.min || (spec.integer && !Number.isInteger(value))) {
        return fail(
          `--${name} must be ${spec.integer ? 'an integer' : 'a number'} ≥ ${spec.min}, got ${JSON.stringify(raw)}`,
          help,
        );
      }
      values[name] = value;
    }
  }
  return values as OptionValues<S>;
}

function describeOptions(specs: Record<string, OptionSpec>): string {
  const width = Math.max(...Object.keys(specs).map((name) => name.length)) + 2;
  return Object.entries(specs)
    .map(
      ([name, spec]) =>
        `  --${name.padEnd(width)}${spec.description}${spec.type === 'boolean' ? '' : ` (default ${spec.default})`}`,
    )
    .join('\n');
}

function fail(message: string, help: string): never {
  process.stderr.write(`${message}\n\n${help}\n`);
  process.exit(64);
}

import { setTimeout as sleep } from 'node:timers/promises';

export interface EventuallyOptions {
  /** Give up after this long (default 10,000 ms). */
  timeoutMs?: number;
  /** Pause between attempts (default 50 ms). */
  intervalMs?: number;
  /** What is awaited, for the timeout message: `'the member to be removed from message-service'`. */
  description?: string;
}

/**
 * Polls `probe` until it succeeds and returns what it returned: an attempt succeeds when the probe neither
 * throws nor rejects, and, when it returns a boolean, returns `true`. So both styles work:
 * `await eventually(async () => expect(await count()).toBe(2))` and
 * `await eventually(async () => (await count()) === 2)`.
 *
 * On timeout it throws an Error naming the description and the last failure (also its `cause`). An attempt
 * that hangs does not stretch the timeout. For system tests: assert eventual effects, never sleep.
 */
export async function eventually<T>(
  probe: () => Promise<T> | T,
  options: EventuallyOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastFailure: unknown;
  let attempts = 0;

  for (;;) {
    attempts += 1;
    const outcome = await attempt(probe, deadline - Date.now());
    if (outcome.ok) return outcome.value;
    lastFailure = outcome.failure;
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    await sleep(Math.min(intervalMs, remaining));
  }

  const what = options.description ?? 'the probe to succeed';
  throw new Error(
    `Timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${what}; ` +
      `last failure: ${describe(lastFailure)}`,
    { cause: lastFailure },
  );
}

type Outcome<T> = { ok: true; value: T } | { ok: false; failure: unknown };

async function attempt<T>(probe: () => Promise<T> | T, remainingMs: number): Promise<Outcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<Outcome<T>>((resolve) => {
    const failure = new Error('the last attempt did not finish before the deadline');
    timer = setTimeout(() => resolve({ ok: false, failure }), Math.max(remainingMs, 0));
  });
  const run = (async (): Promise<Outcome<T>> => {
    try {
      const value = await probe();
      if (value === false) return { ok: false, failure: new Error('the probe returned false') };
      return { ok: true, value };
    } catch (error) {
      return { ok: false, failure: error };
    }
  })();
  try {
    return await Promise.race([run, hung]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(failure: unknown): string {
  if (failure instanceof Error) return failure.message;
  return String(failure);
}

export interface OutageLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

/** The message of an error and of its causes, without the objects they carry (driver clients, settings). */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 3; depth += 1) {
    const message = current instanceof Error ? current.message : String(current);
    if (message && !parts.includes(message)) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ').slice(0, 500) || 'unknown error';
}

/**
 * Logs a dependency's outage as it starts, at most every `everyMs` while it lasts (with how many
 * operations were put off meanwhile), and when it ends: a few lines per outage, however many events or
 * calls meet it, and never a driver object.
 */
export class OutageLog {
  private since: number | undefined;
  private lastLine = 0;
  private lastReport = 0;
  private affected = 0;
  private affectedSinceLine = 0;

  /**
   * `quietAfterMs`: for callers that only see failures (a request path), an outage without a report for
   * this long is taken as over (its end is logged with the next report, or never when none comes).
   */
  constructor(
    private readonly logger: OutageLogger,
    private readonly what: string,
    private readonly everyMs = 10_000,
    private readonly quietAfterMs = Number.POSITIVE_INFINITY,
  ) {}

  get active(): boolean {
    return this.since !== undefined;
  }

  /** One operation met the outage (and will be retried). */
  report(error: unknown, fields: object = {}): void {
    const now = Date.now();
    if (this.since !== undefined && now - this.lastReport > this.quietAfterMs) this.recovered();
    this.lastReport = now;
    this.affected += 1;
    this.affectedSinceLine += 1;
    if (this.since === undefined) {
      this.since = now;
      this.lastLine = now;
      this.affectedSinceLine = 0;
      this.logger.warn({ ...fields, error: describeError(error) }, `${this.what} unavailable; retrying`);
      return;
    }
    if (now - this.lastLine >= this.everyMs) {
      this.logger.warn(
        {
          ...fields,
          error: describeError(error),
          forMs: now - this.since,
          retriedSinceLastLine: this.affectedSinceLine,
        },
        `${this.what} still unavailable`,
      );
      this.lastLine = now;
      this.affectedSinceLine = 0;
    }
  }

  /** The dependency answered again; logs the end of an outage, if there was one. */
  recovered(): void {
    if (this.since === undefined) return;
    this.logger.info(
      { forMs: Date.now() - this.since, retried: this.affected },
      `${this.what} available again`,
    );
    this.since = undefined;
    this.affected = 0;
  }
}

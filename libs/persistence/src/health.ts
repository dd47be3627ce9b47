import pg from 'pg';
import type { DataSource } from 'typeorm';

import { connectionPool } from './prepared';

/**
 * Whether the database answers, for the health monitor, which polls it. The probe has a connection of its
 * own, with the pool's settings: it asks the database, not the pool's queue. Asked through the pool, a
 * burst of work (a thousand subscribers resuming at once) held every pooled connection for longer than the
 * probe's timeout, and the replica reported NOT_SERVING — a load balancer would have drained a healthy
 * replica just when its clients came back.
 */
export class DatabaseProbe {
  private client: pg.Client | undefined;
  private closed = false;

  constructor(private readonly dataSource: DataSource) {}

  /**
   * `SELECT 1` within `timeoutMs`. Never throws: a data source that is not initialized, a connection that
   * cannot be made or breaks, and a slow answer all give `false`; the next check connects afresh.
   */
  async check(timeoutMs: number): Promise<boolean> {
    if (this.closed || !this.dataSource.isInitialized) return false;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const probe = this.ask().then(
      () => true,
      () => false,
    );
    try {
      const answered = await Promise.race([probe, timedOut]);
      // A failed or stuck connection is not reused: the next check (or close) starts from nothing.
      if (!answered || this.closed) void this.drop();
      return answered;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends the probe's connection; later checks answer `false` without connecting. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drop();
  }

  private async drop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async ask(): Promise<void> {
    let client = this.client;
    if (!client) {
      const options = connectionPool(this.dataSource).options;
      const fresh = new pg.Client({
        ...options,
        application_name: `${options.application_name ?? 'chat'}-health`,
      });
      fresh.on('error', () => {
        if (this.client === fresh) this.client = undefined;
      });
      this.client = client = fresh;
      await fresh.connect();
    }
    await client.query('SELECT 1');
  }
}

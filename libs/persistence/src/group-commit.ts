/** One item's outcome in a batch: its result, or the error that failed it alone. */
export type Settled<Result> = { ok: true; value: Result } | { ok: false; error: unknown };

export interface GroupCommitOptions<Item, Result> {
  /** Items of one key are never in two batches at once (for Send: the conversation). */
  key(item: Item): string;
  /** Writes a batch (one statement, one commit); one outcome per item, in order. A rejection fails them all. */
  write(items: Item[]): Promise<Array<Settled<Result>>>;
  /** Most items in one batch. */
  maxBatch: number;
  /** Most batches being written at once. */
  maxInFlight: number;
}

interface Waiting<Item, Result> {
  item: Item;
  resolve(result: Result): void;
  reject(error: unknown): void;
}

/**
 * Group commit: callers submit one item each; items are written in batches, so concurrent callers
 * share a statement and a commit instead of taking a connection, a round trip and an fsync each.
 * Nothing waits to fill a batch: an item is written at once while fewer than `maxInFlight` batches
 * are out; the items that arrive meanwhile make the next batch. So a lone caller's latency is one
 * write, and under load batches grow by themselves.
 *
 * A key's items go in submission order and never into two batches at once: a batch waits for
 * nothing another batch of this process holds, and a key's writes stay in order.
 */
export class GroupCommit<Item, Result> {
  private queue: Array<Waiting<Item, Result>> = [];
  private inFlight = 0;
  private readonly busyKeys = new Set<string>();

  constructor(private readonly options: GroupCommitOptions<Item, Result>) {
    if (options.maxBatch < 1 || options.maxInFlight < 1) {
      throw new RangeError('maxBatch and maxInFlight must be at least 1');
    }
  }

  /** Items waiting for a batch (not counting those being written). */
  get waiting(): number {
    return this.queue.length;
  }

  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.takeBatch();
      if (batch.length === 0) return; // every waiting item's key has a batch out
      void this.writeBatch(batch);
    }
  }

  /** The oldest waiting items whose keys have no batch out, up to `maxBatch`, in submission order. */
  private takeBatch(): Array<Waiting<Item, Result>> {
    const batch: Array<Waiting<Item, Result>> = [];
    const left: Array<Waiting<Item, Result>> = [];
    for (const waiting of this.queue) {
      if (batch.length < this.options.maxBatch && !this.busyKeys.has(this.options.key(waiting.item))) {
        batch.push(waiting);
      } else {
        left.push(waiting);
      }
    }
    this.queue = left;
    return batch;
  }

  private async writeBatch(batch: Array<Waiting<Item, Result>>): Promise<void> {
    const keys = new Set(batch.map((waiting) => this.options.key(waiting.item)));
    for (const key of keys) this.busyKeys.add(key);
    this.inFlight += 1;
    try {
      const outcomes = await this.options.write(batch.map((waiting) => waiting.item));
      batch.forEach((waiting, index) => {
        const outcome = outcomes[index];
        if (!outcome) waiting.reject(new Error('The batch write returned no outcome for this item'));
        else if (outcome.ok) waiting.resolve(outcome.value);
        else waiting.reject(outcome.error);
      });
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    } finally {
      for (const key of keys) this.busyKeys.delete(key);
      this.inFlight -= 1;
      this.pump();
    }
  }
}

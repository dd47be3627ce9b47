import type { ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import type { ConversationClient, Update } from '@chat/contract';
import { eventually } from '@chat/testing';

/**
 * One device's Subscribe stream, as a gateway would hold it: every update it received, in order, and
 * how the stream ended.
 */
export class UpdateWatcher {
  readonly updates: Update[] = [];
  private failure: ServiceError | undefined;
  private finished = false;
  private readonly done: Promise<void>;

  private constructor(readonly stream: ClientReadableStream<Update>) {
    stream.on('data', (update: Update) => this.updates.push(update));
    this.done = new Promise((resolve) => {
      stream.on('error', (error: ServiceError) => {
        this.failure = error;
        this.finished = true;
        resolve();
      });
      stream.on('end', () => {
        this.finished = true;
        resolve();
      });
    });
  }

  /** Subscribes `userId` from `cursor` (empty: from now). */
  static open(client: ConversationClient, userId: string, cursor = ''): UpdateWatcher {
    return new UpdateWatcher(client.subscribe({ userId, cursor }));
  }

  /** Subscribes and waits for `caught_up`. */
  static async caughtUp(client: ConversationClient, userId: string, cursor = ''): Promise<UpdateWatcher> {
    const watcher = UpdateWatcher.open(client, userId, cursor);
    await watcher.until((updates) => updates.some((update) => update.caughtUp), 'caught_up');
    return watcher;
  }

  /** Waits until `probe` holds for the updates so far (fails on timeout, or when the stream ended first). */
  async until(probe: (updates: Update[]) => boolean, description: string, timeoutMs = 20_000): Promise<void> {
    await eventually(
      () => {
        if (probe(this.updates)) return true;
        if (this.finished)
          throw new Error(`the stream ended (${this.failure?.message ?? 'end'}) before ${description}`);
        return false;
      },
      { timeoutMs, intervalMs: 20, description },
    );
  }

  /** The cursor of the last update received. */
  get lastCursor(): string {
    return this.updates.at(-1)?.cursor ?? '';
  }

  /** Leaves the stream (as a device disconnecting). */
  cancel(): void {
    this.stream.cancel();
  }

  /** How the stream ended: the error, or undefined for a clean end. Waits for the end. */
  async ending(timeoutMs = 20_000): Promise<ServiceError | undefined> {
    await eventually(() => this.finished, { timeoutMs, description: 'the stream to end' });
    await this.done;
    return this.failure;
  }

  get ended(): boolean {
    return this.finished;
  }
}

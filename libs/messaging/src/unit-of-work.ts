import type { DataSource, EntityManager } from 'typeorm';
import { createEvent, type EventDataMap, type EventType } from '@chat/contract';
import { withTransaction, type TransactionOptions } from '@chat/persistence';
import { addToOutbox, outboxRow, type OutboxRow } from './outbox';
import type { OutboxRelay } from './outbox-relay';

/** What a use case gets inside its transaction. */
export interface Transaction {
  manager: EntityManager;
  /** Records an event about a conversation; it is published only if the transaction commits. */
  publish<T extends EventType>(type: T, conversationId: string, data: EventDataMap[T]): Promise<void>;
}

export interface UnitOfWorkOptions {
  dataSource: DataSource;
  relay: OutboxRelay;
  /** The publishing service, the events' CloudEvents `source`. */
  source: string;
  subjectPrefix: string;
}

/**
 * One transaction per use case: load, check the rule, change, save and add the
 * events to the outbox, all or nothing. Nothing is published before the commit;
 * right after it the relay is told to publish.
 */
export class UnitOfWork {
  constructor(private readonly options: UnitOfWorkOptions) {}

  async run<T>(work: (tx: Transaction) => Promise<T>, options?: TransactionOptions): Promise<T> {
    let published = false;
    const result = await withTransaction(
      this.options.dataSource,
      (manager) => {
        published = false;
        return work({
          manager,
          publish: async (type, conversationId, data) => {
            await addToOutbox(
              manager,
              createEvent(type, this.options.source, conversationId, data),
              this.options.subjectPrefix,
            );
            published = true;
          },
        });
      },
      options,
    );
    if (published) this.options.relay.notify();
    return result;
  }

  /**
   * The outbox row of an event for a use case that writes it in its own statement instead of
   * `run` (a one-statement hot path). Call `committed()` once that statement has committed.
   */
  outboxRow<T extends EventType>(type: T, conversationId: string, data: EventDataMap[T]): OutboxRow {
    return outboxRow(
      createEvent(type, this.options.source, conversationId, data),
      this.options.subjectPrefix,
    );
  }

  /** Tells the relay that outbox rows written outside `run` have committed: they are published now. */
  committed(): void {
    this.options.relay.notify();
  }
}

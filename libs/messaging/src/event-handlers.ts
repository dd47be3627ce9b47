import type { EntityManager } from 'typeorm';
import type { ChatEvent, EventType } from '@chat/contract';

/** What a consumer does with one event, inside the transaction that records it as applied. */
export type EventHandler<T extends EventType = EventType> = (
  event: ChatEvent<T>,
  manager: EntityManager,
) => Promise<void>;

/**
 * What a consumer does with several events of one type at once, inside the transaction that records
 * them as applied: one statement for a whole batch instead of one per event. The events come grouped by
 * conversation, each conversation's in sequence order; a handler must keep that order's effect (apply
 * them in the order given, or take the latest of each conversation).
 */
export interface BatchEventHandler<T extends EventType = EventType> {
  applyMany(events: ReadonlyArray<ChatEvent<T>>, manager: EntityManager): Promise<void>;
}

export type EventHandlers = { [T in EventType]?: EventHandler<T> | BatchEventHandler<T> };

/** An app's consumers: a Nest provider that returns its handlers, named after the events. */
export interface EventHandlerSet {
  handlers(): EventHandlers;
  /**
   * Runs last in every transaction that applied events, after the handlers and before the commit: to
   * write what the handlers gathered in one go (conversation-service numbers its live updates here).
   */
  beforeCommit?(manager: EntityManager): Promise<void>;
}

/** What the inbox runs around the handlers of a batch. */
export interface ApplyHooks {
  beforeCommit?(manager: EntityManager): Promise<void>;
}

/** Runs a handler on events of its type, in the order given: one call for a batch handler, one per event otherwise. */
export async function runHandler(
  handler: EventHandler | BatchEventHandler,
  events: readonly ChatEvent[],
  manager: EntityManager,
): Promise<void> {
  if (typeof handler !== 'function') {
    await handler.applyMany(events, manager);
    return;
  }
  for (const event of events) await handler(event, manager);
}

import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { DomainError, SubscribeErrorCode } from '@chat/domain';
import { type Logger } from '@chat/grpc';
import { LOGGER, SERVICE_CONFIG, type LiveStreams } from '@chat/service-runtime';
import { describeError, OutageLog } from '@chat/messaging';
import { connectionPool } from '@chat/persistence';
import type { ConversationConfig } from '../conversation-config';
import { inboxRepository } from '../persistence/inbox-repository';
import { updateLogRepository } from '../persistence/update-log-repository';
import { UPDATES_CHANNEL, type LoggedUpdate } from '../persistence/update-log';
import { changeOf, type Subscription } from './subscription';

const FETCH_LIMIT = 1_000;

/**
 * This replica's reader of the update log, and the dispatcher to its subscribers.
 *
 * One dedicated connection LISTENs for the commits of new updates (each writer NOTIFYs); on a
 * notification — and every second, should one be missed — the feed reads the updates after the last
 * position it dispatched, in order, one query for all of its subscribers, and hands each to the
 * subscriptions it concerns: by conversation (every member at its position) or by user (a read marker,
 * a removal), judged against each subscription's membership spans. A `conversation` update gets each
 * reader's own read state (one query per such update for all of its local readers; messages need none).
 * Positions are gapless and in commit order, so "after the last position dispatched" misses nothing.
 */
@Injectable()
export class UpdateFeed implements OnApplicationBootstrap, LiveStreams {
  /** The last position dispatched to subscribers. */
  private position = 0;
  private listener: pg.Client | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private readonly outage: OutageLog;
  private readonly starting = new Set<Subscription>();
  private readonly byConversation = new Map<string, Set<Subscription>>();
  private readonly byUser = new Map<string, Set<Subscription>>();

  constructor(
    private readonly dataSource: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SERVICE_CONFIG) private readonly config: ConversationConfig,
  ) {
    this.outage = new OutageLog(logger, 'Database (live updates)');
  }

  onApplicationBootstrap(): Promise<void> {
    return this.start();
  }

  /** Shutdown: every stream ends with UNAVAILABLE, so its client resumes on another replica. */
  closeStreams(): Promise<void> {
    return this.stop(
      DomainError.unavailable(
        SubscribeErrorCode.ShuttingDown,
        'This server is shutting down; subscribe again with the last cursor (another replica serves it)',
      ),
    );
  }

  /** Subscriptions open on this replica. */
  get subscribers(): number {
    let count = this.starting.size;
    for (const subscriptions of this.byUser.values()) count += subscriptions.size;
    return count;
  }

  /** The last position this replica dispatched: a new subscription starts after it. */
  get dispatched(): number {
    return this.position;
  }

  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.position = await this.lastPosition();
    await this.listen();
    const tick = () => {
      this.timer = setTimeout(() => {
        this.wake();
        if (!this.stopped) tick();
      }, 1_000);
      this.timer.unref();
    };
    tick();
    this.schedulePrune();
  }

  /** Every SUBSCRIBE_PRUNE_INTERVAL_MS: updates older than SUBSCRIBE_RETENTION_MS go (any replica may do it). */
  private schedulePrune(): void {
    this.pruneTimer = setTimeout(() => {
      void updateLogRepository
        .prune(this.dataSource.manager, this.config.extra.SUBSCRIBE_RETENTION_MS)
        .catch((error: unknown) =>
          this.logger.warn({ error: describeError(error) }, 'Could not prune live updates; will retry'),
        )
        .finally(() => !this.stopped && this.schedulePrune());
    }, this.config.extra.SUBSCRIBE_PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
  }

  /** Ends every subscription with `error` and stops reading. */
  async stop(error: DomainError): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.pruneTimer);
    for (const subscription of [...this.starting, ...[...this.byUser.values()].flatMap((set) => [...set])]) {
      subscription.end(error);
    }
    await this.running;
    await this.listener?.end().catch(() => undefined);
    this.listener = undefined;
  }

  /** Starts feeding a subscription: until it goes live, it is handed every update, to judge later. */
  begin(subscription: Subscription): number {
    this.starting.add(subscription);
    return this.position;
  }

  /**
   * The subscription is caught up to where it began: judge what it was handed meanwhile, in order, then
   * feed it like any live one. Nothing can slip between: updates dispatched while this runs still land in
   * its pending list, and the switch happens once that list is empty.
   */
  async goLive(subscription: Subscription): Promise<void> {
    while (subscription.pending && subscription.pending.length > 0) {
      await this.dispatchTo([subscription], subscription.pending.shift()!);
    }
    if (subscription.isEnded) return;
    this.starting.delete(subscription);
    subscription.pending = null;
    this.index(this.byUser, subscription.userId, subscription);
    for (const conversationId of subscription.periods.keys()) {
      if (subscription.isOpenIn(conversationId))
        this.index(this.byConversation, conversationId, subscription);
    }
  }

  /** The subscription ended (the client left, or it was ended): forget it. */
  forget(subscription: Subscription): void {
    this.starting.delete(subscription);
    this.unindex(this.byUser, subscription.userId, subscription);
    for (const conversationId of subscription.periods.keys()) {
      this.unindex(this.byConversation, conversationId, subscription);
    }
  }

  /** The log's last position, and the last one pruned (cursors before it have expired). */
  async bounds(): Promise<{ last: number; prunedThrough: number }> {
    const [row] = (await this.dataSource.query(
      'SELECT last_position, pruned_through FROM update_log',
    )) as Array<{ last_position: string; pruned_through: string }>;
    return { last: Number(row!.last_position), prunedThrough: Number(row!.pruned_through) };
  }

  /** Wakes the reader: new updates may have committed. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((error: unknown) => this.outage.report(error))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async drain(): Promise<void> {
    for (;;) {
      this.again = false;
      if (this.starting.size === 0 && this.byUser.size === 0) {
        // Nobody to tell: move along without reading the updates themselves.
        this.position = Math.max(this.position, await this.lastPosition());
        this.outage.recovered();
        return;
      }
      const updates = await updateLogRepository.after(this.dataSource.manager, this.position, FETCH_LIMIT);
      this.outage.recovered();
      for (const update of updates) {
        if (update.position !== this.position + 1) {
          this.logger.warn(
            { expected: this.position + 1, found: update.position },
            'Live updates skipped: this replica fell behind the retention',
          );
        }
        await this.dispatch(update);
        this.position = update.position;
      }
      if (updates.length < FETCH_LIMIT && !this.again) return;
    }
  }

  /** One update to every subscription it concerns on this replica. */
  private async dispatch(update: LoggedUpdate): Promise<void> {
    for (const subscription of this.starting) subscription.hold(update);
    const concerned = new Set<Subscription>();
    const users = update.userIds ?? update.membership?.joined ?? [];
    for (const userId of users)
      for (const subscription of this.byUser.get(userId) ?? []) concerned.add(subscription);
    if (!update.userIds) {
      for (const subscription of this.byConversation.get(update.conversationId) ?? [])
        concerned.add(subscription);
    }
    if (concerned.size > 0) await this.dispatchTo([...concerned], update);
  }

  /**
   * One update to the given subscriptions: memberships it begins first (it is delivered to the new
   * members), then delivery to whoever is a member at its position, then memberships it ends.
   */
  private async dispatchTo(subscriptions: Subscription[], update: LoggedUpdate): Promise<void> {
    const { conversationId, position, membership } = update;
    for (const subscription of subscriptions) {
      if (membership?.joined?.includes(subscription.userId)) {
        subscription.joined(conversationId, position);
        if (subscription.pending === null) this.index(this.byConversation, conversationId, subscription);
      }
    }
    const readers = subscriptions.filter(
      (subscription) =>
        !subscription.isEnded &&
        (!update.userIds || update.userIds.includes(subscription.userId)) &&
        subscription.memberAt(conversationId, position),
    );
    if (readers.length > 0) {
      const readStates =
        update.kind === 'conversation'
          ? await inboxRepository.readStates(
              this.dataSource.manager,
              conversationId,
              readers.map((reader) => reader.userId),
              Number(update.payload['lastSeq'] ?? 0),
            )
          : undefined;
      for (const reader of readers)
        reader.deliver(position, changeOf(update, readStates?.get(reader.userId)));
    }
    for (const subscription of subscriptions) {
      if (membership?.all || membership?.left?.includes(subscription.userId)) {
        subscription.left(conversationId, position);
        if (!subscription.isOpenIn(conversationId))
          this.unindex(this.byConversation, conversationId, subscription);
      }
    }
  }

  private index(map: Map<string, Set<Subscription>>, key: string, subscription: Subscription): void {
    const set = map.get(key) ?? new Set<Subscription>();
    set.add(subscription);
    map.set(key, set);
  }

  private unindex(map: Map<string, Set<Subscription>>, key: string, subscription: Subscription): void {
    const set = map.get(key);
    if (!set) return;
    set.delete(subscription);
    if (set.size === 0) map.delete(key);
  }

  private async lastPosition(): Promise<number> {
    return (await this.bounds()).last;
  }

  /** A connection of its own that LISTENs, reconnecting after a loss. */
  private async listen(): Promise<void> {
    const pool = connectionPool(this.dataSource);
    const client = new pg.Client({ ...pool.options, application_name: 'conversation-service-live' });
    client.on('notification', (notification) => {
      // With nobody to tell, the position in the notification is all the feed needs.
      const last = Number(notification.payload);
      if (this.starting.size === 0 && this.byUser.size === 0 && Number.isSafeInteger(last)) {
        if (last > this.position && !this.running) this.position = last;
        return;
      }
      this.wake();
    });
    client.on('error', (error) => {
      this.outage.report(error);
      if (this.listener === client) this.listener = undefined;
      if (!this.stopped) setTimeout(() => void this.relisten(), 1_000).unref();
    });
    await client.connect();
    await client.query(`LISTEN ${UPDATES_CHANNEL}`);
    this.listener = client;
    this.wake();
  }

  private async relisten(): Promise<void> {
    if (this.stopped || this.listener) return;
    try {
      await this.listen();
    } catch (error) {
      this.logger.debug({ error: describeError(error) }, 'Could not LISTEN for live updates yet; retrying');
      setTimeout(() => void this.relisten(), 1_000).unref();
    }
  }
}

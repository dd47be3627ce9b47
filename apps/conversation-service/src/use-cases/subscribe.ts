import type { ServerWritableStream } from '@grpc/grpc-js';
import { Inject, Injectable } from '@nestjs/common';
import { Observable } from 'rxjs';
import { DataSource } from 'typeorm';
import type { Update } from '@chat/contract';
import { DomainError, SubscribeErrorCode } from '@chat/domain';
import { SERVICE_CONFIG } from '@chat/service-runtime';
import type { ConversationConfig } from '../conversation-config';
import { UpdateFeed } from '../live/update-feed';
import { UPDATE_CURSORS, invalidCursor, type UpdateCursors } from '../live/update-cursors';
import { changeOf, Subscription } from '../live/subscription';
import { inboxRepository } from '../persistence/inbox-repository';
import { updateLogRepository } from '../persistence/update-log-repository';

const REPLAY_PAGE = 500;

/**
 * Subscribe: one device's stream of its user's live updates.
 *
 * An empty cursor starts from now: `caught_up` first, then live updates. A cursor resumes after the
 * update that carried it: every update after it for this user, exactly once and in order (judged as of
 * each update's position: a message before the user joined, or after they left, is not theirs), then
 * `caught_up`, then live — with nothing lost or repeated at the switch, on any replica. A cursor from
 * before the retention is FAILED_PRECONDITION `SUBSCRIBE.CURSOR_EXPIRED`; a malformed one
 * INVALID_ARGUMENT.
 */
@Injectable()
export class SubscribeToUpdates {
  private readonly bufferLimit: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly feed: UpdateFeed,
    @Inject(UPDATE_CURSORS) private readonly cursors: UpdateCursors,
    @Inject(SERVICE_CONFIG) config: ConversationConfig,
  ) {
    this.bufferLimit = config.extra.SUBSCRIBE_BUFFER;
  }

  execute(input: { userId: string; cursor: number | null }, call: ServerWritableStream<unknown, Update>) {
    return new Observable<Update>((observer) => {
      const subscription = new Subscription({
        userId: input.userId,
        call,
        bufferLimit: this.bufferLimit,
        cursorOf: (position) => this.cursors.issue(position, input.userId),
        onEnd: (error) => {
          this.feed.forget(subscription);
          if (error) observer.error(error);
          else observer.complete();
        },
      });
      void this.open(subscription, input.cursor).catch((error: unknown) =>
        subscription.end(error instanceof DomainError ? error : undefined),
      );
      // The client cancelled, or the call ended: stop feeding it.
      return () => subscription.end();
    });
  }

  private async open(subscription: Subscription, cursor: number | null): Promise<void> {
    const { last, prunedThrough } = await this.feed.bounds();
    if (cursor !== null && cursor > last) throw invalidCursor();
    if (cursor !== null && cursor < prunedThrough) {
      throw DomainError.failedPrecondition(
        SubscribeErrorCode.CursorExpired,
        'The cursor is older than the updates kept; reload with List and Messages, then subscribe with an empty cursor',
      );
    }
    const from = this.feed.begin(subscription);
    const start = cursor ?? from;
    subscription.deliveredThrough = start;
    // The user's memberships as spans of positions, from before the replay to whatever is known now.
    for (const period of await updateLogRepository.periodsOf(
      this.dataSource.manager,
      subscription.userId,
      start,
    )) {
      subscription.periods.set(period.conversationId, [
        ...(subscription.periods.get(period.conversationId) ?? []),
        { joined: period.joined, left: period.left },
      ]);
    }
    for (let after = start; after < from && !subscription.isEnded;) {
      const page = await updateLogRepository.replay(
        this.dataSource.manager,
        subscription.userId,
        after,
        from,
        REPLAY_PAGE,
      );
      for (const update of page) {
        const readState =
          update.kind === 'conversation'
            ? (
                await inboxRepository.readStates(
                  this.dataSource.manager,
                  update.conversationId,
                  [subscription.userId],
                  Number(update.payload['lastSeq'] ?? 0),
                )
              ).get(subscription.userId)
            : undefined;
        await subscription.replay(update.position, changeOf(update, readState));
      }
      after = page.length < REPLAY_PAGE ? from : page.at(-1)!.position;
    }
    if (subscription.isEnded) return;
    subscription.caughtUp(from);
    await this.feed.goLive(subscription);
  }
}

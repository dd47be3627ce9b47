import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { Client as PgClient } from 'pg';
import { createMessageClient, EventType, type MessageClient, type MessageData } from '@chat/contract';
import { ERROR_CODE_METADATA_KEY } from '@chat/grpc';
import { eventually } from '@chat/testing';
import { bootService, EventPublisher, EventRecorder, type TestService } from '@chat/testing-services';
import { itServesHealth } from '@chat/testing-services/jest';
import { messageService } from '../src/service';
import {
  addMember,
  announceDirect,
  announceGroup,
  failureOf,
  removeMember,
  statusOf,
  type TestGroup,
} from './message-fixture';

describe('message-service over gRPC', () => {
  let service: TestService<MessageClient>;
  let client: MessageClient;
  let publisher: EventPublisher;
  let events: EventRecorder;
  let database: PgClient;

  beforeAll(async () => {
    service = await bootService(messageService, createMessageClient, {
      // One Send statement at a time: concurrent Sends are sure to be group-committed.
      env: { MEMBERSHIP_CATCH_UP_MS: '3000', SEND_MAX_WRITES_IN_FLIGHT: '1' },
    });
    client = service.client;
    publisher = await EventPublisher.connect(service.nats.url, service.nats.subjectPrefix);
    events = await EventRecorder.start(service.nats.url, service.nats.streamName);
    database = new PgClient({ connectionString: service.databaseUrl });
    await database.connect();
  });

  afterAll(async () => {
    await database?.end();
    await events?.close();
    await publisher?.close();
    await service?.close();
  });

  const send = (group: { id: string }, userId: string, text: string, clientMessageId = '') =>
    client.send({ conversationId: group.id, userId, data: { text }, clientMessageId });

  async function history(group: { id: string }, userId: string): Promise<MessageData[]> {
    const all: MessageData[] = [];
    let pageToken = '';
    do {
      const page = await client.list({ id: group.id, userId, pageSize: 200, pageToken });
      all.push(...page.messages);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return all;
  }

  itServesHealth(() => service, 'chat.MessageService');

  describe('Send', () => {
    let group: TestGroup;
    beforeAll(async () => {
      group = await announceGroup(publisher);
    });

    it('stores a member message with the next seq and publishes MessageSent', async () => {
      const message = await send(group, group.member, '  hello climbers  ');
      expect(message).toMatchObject({
        conversationId: group.id,
        senderId: group.member,
        text: 'hello climbers',
        seq: 1,
        deleted: false,
      });
      expect(message.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(message.updatedAt).toBeUndefined();
      const [sent] = await events.waitFor({ conversationId: group.id, type: EventType.MessageSent }, 1);
      expect(sent).toMatchObject({
        source: 'message-service',
        data: { messageId: message.id, seq: 1, text: 'hello climbers' },
      });
    });

    it.each([
      ['empty text', { data: { text: '   ' } }, 'REQUEST.INVALID_TEXT'],
      ['text over 4,096 characters', { data: { text: 'x'.repeat(4097) } }, 'REQUEST.INVALID_TEXT'],
      ['a NUL character', { data: { text: 'a\u0000b' } }, 'REQUEST.INVALID_TEXT'],
      ['no data', {}, 'REQUEST.INVALID_TEXT'],
      ['a malformed conversation id', { conversationId: 'nope', data: { text: 'hi' } }, 'REQUEST.INVALID_ID'],
    ])('refuses %s with INVALID_ARGUMENT', async (_, request, code) => {
      const error = await failureOf(
        client.send({ conversationId: group.id, userId: group.member, ...request }),
      );
      expect([error.code, error.metadata.get(ERROR_CODE_METADATA_KEY)]).toEqual([
        status.INVALID_ARGUMENT,
        [code],
      ]);
    });

    it('accepts exactly 4,096 characters, counting an emoji as one', async () => {
      const message = await send(group, group.member, `${'x'.repeat(4095)}🧗`);
      expect([...message.text]).toHaveLength(4096);
    });

    it('refuses a non-member with PERMISSION_DENIED and an unknown conversation with NOT_FOUND', async () => {
      expect(await statusOf(send(group, group.outsider, 'let me in'))).toBe(status.PERMISSION_DENIED);
      expect(await statusOf(send({ id: randomUUID() }, group.member, 'anyone?'))).toBe(status.NOT_FOUND);
    });

    it('numbers 200 concurrent sends 1..200 without gaps or repeats', async () => {
      const busy = await announceGroup(publisher);
      const senders = [busy.owner, busy.admin, busy.member];
      const sent = await Promise.all(
        Array.from({ length: 200 }, (_, i) => send(busy, senders[i % 3]!, `m${i}`)),
      );
      expect(sent.map((m) => m.seq).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      expect(new Set(sent.map((m) => m.id)).size).toBe(200);
      // One MessageSent each, numbered 1..200 in the conversation's event sequence, carrying its seq.
      const published = await events.waitFor({ conversationId: busy.id, type: EventType.MessageSent }, 200);
      expect(published.map((event) => event.sequence)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      const seqById = new Map(sent.map((m) => [m.id, m.seq]));
      for (const event of published) {
        const data = event.data as { messageId: string; seq: number };
        expect(data.seq).toBe(seqById.get(data.messageId));
      }
    });

    it('group-commits a burst mixing conversations, outsiders and repeated keys, each answered as if alone', async () => {
      const groups = [
        await announceGroup(publisher),
        await announceGroup(publisher),
        await announceGroup(publisher),
      ];
      const calls: Array<{ group: TestGroup; user: string; text: string; key?: string }> = groups.flatMap(
        (g, n) => [
          ...Array.from({ length: 30 }, (_, i) => ({
            group: g,
            user: [g.owner, g.admin, g.member][i % 3]!,
            text: `g${n}-${i}`,
          })),
          ...Array.from({ length: 5 }, (_, i) => ({ group: g, user: g.outsider, text: `outsider ${i}` })),
          ...Array.from({ length: 5 }, () => ({ group: g, user: g.member, text: 'once', key: `burst-${n}` })),
        ],
      );
      const shuffled = calls
        .map((call, i) => ({ call, order: (i * 7919) % calls.length }))
        .sort((x, y) => x.order - y.order);
      const outcomes = await Promise.allSettled(
        shuffled.map(({ call }) => send(call.group, call.user, call.text, call.key)),
      );
      const results = shuffled.map(({ call }, i) => ({ call, outcome: outcomes[i]! }));

      for (const { call, outcome } of results) {
        if (call.user === call.group.outsider) {
          expect(outcome.status).toBe('rejected');
          expect((outcome as PromiseRejectedResult).reason.code).toBe(status.PERMISSION_DENIED);
        } else {
          expect(outcome.status).toBe('fulfilled');
        }
      }
      for (const [n, g] of groups.entries()) {
        const stored = await history(g, g.owner);
        // 30 messages + the keyed one, numbered without gaps; the repeated key answered with one message.
        expect(stored.map((m) => m.seq).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 31 }, (_, i) => i + 1),
        );
        const keyed = results
          .filter(({ call }) => call.group === g && call.key)
          .map(({ outcome }) => (outcome as PromiseFulfilledResult<MessageData>).value);
        expect(new Set(keyed.map((m) => m.id)).size).toBe(1);
        expect(stored.filter((m) => m.clientMessageId === `burst-${n}`).map((m) => m.id)).toEqual([
          keyed[0]!.id,
        ]);
        expect(stored.some((m) => m.senderId === g.outsider)).toBe(false);
        const published = await events.waitFor({ conversationId: g.id, type: EventType.MessageSent }, 31);
        expect(published.map((event) => event.sequence)).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
      }
    });
  });

  describe('idempotent Send', () => {
    it('returns the original message for a retry with the same client_message_id', async () => {
      const group = await announceGroup(publisher);
      const first = await send(group, group.member, 'once', 'key-1');
      const retry = await send(group, group.member, 'once', 'key-1');
      expect(retry).toEqual(first);
      expect(first.clientMessageId).toBe('key-1');
      expect((await history(group, group.member)).map((m) => m.id)).toEqual([first.id]);
    });

    it('stores one message when the same key is sent many times at once', async () => {
      const group = await announceGroup(publisher);
      const results = await Promise.all(
        Array.from({ length: 20 }, () => send(group, group.member, 'burst', 'key-burst')),
      );
      expect(new Set(results.map((m) => `${m.id}/${m.seq}`))).toEqual(new Set([`${results[0]!.id}/1`]));
      expect(await history(group, group.member)).toHaveLength(1);
    });

    it('treats the same key from another sender as another message', async () => {
      const group = await announceGroup(publisher);
      const mine = await send(group, group.member, 'hi', 'shared-key');
      const theirs = await send(group, group.admin, 'hi', 'shared-key');
      expect(theirs.id).not.toBe(mine.id);
    });

    it('refuses the same key with a different text with ALREADY_EXISTS', async () => {
      const group = await announceGroup(publisher);
      await send(group, group.member, 'first', 'key-x');
      const error = await failureOf(send(group, group.member, 'second', 'key-x'));
      expect([error.code, error.metadata.get(ERROR_CODE_METADATA_KEY)]).toEqual([
        status.ALREADY_EXISTS,
        ['MESSAGE.CLIENT_MESSAGE_ID_REUSED'],
      ]);
    });
  });

  describe('Reply', () => {
    it('replies to a live message of the conversation', async () => {
      const group = await announceGroup(publisher);
      const original = await send(group, group.owner, 'who climbs today?');
      const reply = await client.reply({ id: original.id, userId: group.member, data: { text: 'me' } });
      expect(reply).toMatchObject({ conversationId: group.id, replyId: original.id, seq: 2, text: 'me' });
    });

    it('refuses a reply to a deleted message, an unknown message, and from a non-member', async () => {
      const group = await announceGroup(publisher);
      const original = await send(group, group.owner, 'gone soon');
      expect(
        await statusOf(client.reply({ id: original.id, userId: group.outsider, data: { text: 'x' } })),
      ).toBe(status.PERMISSION_DENIED);
      await client.delete({ id: original.id, userId: group.owner });
      expect(
        await statusOf(client.reply({ id: original.id, userId: group.member, data: { text: 'x' } })),
      ).toBe(status.FAILED_PRECONDITION);
      expect(
        await statusOf(client.reply({ id: randomUUID(), userId: group.member, data: { text: 'x' } })),
      ).toBe(status.NOT_FOUND);
    });
  });

  describe('Update', () => {
    it('lets the sender edit, sets updated_at and publishes MessageUpdated', async () => {
      const group = await announceGroup(publisher);
      const original = await send(group, group.member, 'typo');
      const edited = await client.update({ id: original.id, userId: group.member, data: { text: 'fixed' } });
      expect(edited).toMatchObject({ id: original.id, seq: original.seq, text: 'fixed' });
      expect(Date.parse(edited.updatedAt!)).toBeGreaterThanOrEqual(Date.parse(original.createdAt));
      const [updated] = await events.waitFor({ conversationId: group.id, type: EventType.MessageUpdated }, 1);
      expect(updated!.data).toMatchObject({ messageId: original.id, text: 'fixed' });
    });

    it('refuses anyone but the sender, a deleted message, and a sender who left', async () => {
      const group = await announceGroup(publisher);
      const original = await send(group, group.member, 'mine');
      expect(
        await statusOf(client.update({ id: original.id, userId: group.owner, data: { text: 'theirs' } })),
      ).toBe(status.PERMISSION_DENIED);
      const other = await send(group, group.member, 'to delete');
      await client.delete({ id: other.id, userId: group.member });
      expect(
        await statusOf(client.update({ id: other.id, userId: group.member, data: { text: 'back' } })),
      ).toBe(status.FAILED_PRECONDITION);
      await removeMember(publisher, group.id, group.member);
      await eventually(
        async () =>
          (await statusOf(
            client.update({ id: original.id, userId: group.member, data: { text: 'late' } }),
          )) === status.PERMISSION_DENIED,
      );
    });
  });

  describe('Delete', () => {
    it('leaves a tombstone in history and publishes MessageDeleted; deleting again is fine', async () => {
      const group = await announceGroup(publisher);
      const doomed = await send(group, group.member, 'secret');
      const reply = await client.reply({
        id: doomed.id,
        userId: group.owner,
        data: { text: 'what secret?' },
      });
      await expect(client.delete({ id: doomed.id, userId: group.member })).resolves.toEqual({
        success: true,
      });
      await expect(client.delete({ id: doomed.id, userId: group.member })).resolves.toEqual({
        success: true,
      });
      const [newest, oldest] = await history(group, group.owner);
      expect(newest).toMatchObject({ id: reply.id, replyId: doomed.id, text: 'what secret?' });
      expect(oldest).toMatchObject({ id: doomed.id, deleted: true, text: '' });
      const [deleted] = await events.waitFor({ conversationId: group.id, type: EventType.MessageDeleted }, 1);
      expect(deleted!.data).toMatchObject({ messageId: doomed.id, deletedBy: group.member });
      const { rows } = await database.query(
        `SELECT count(*)::int AS n FROM message_service.outbox WHERE conversation_id = $1 AND type = $2`,
        [group.id, EventType.MessageDeleted],
      );
      expect(rows[0]).toEqual({ n: 1 });
    });

    it('lets a group admin or the owner delete anyone’s message, but not a plain member', async () => {
      const group = await announceGroup(publisher);
      const byMember = await send(group, group.member, 'spam');
      const byOwner = await send(group, group.owner, 'rules');
      expect(await statusOf(client.delete({ id: byOwner.id, userId: group.member }))).toBe(
        status.PERMISSION_DENIED,
      );
      expect(await statusOf(client.delete({ id: byMember.id, userId: group.admin }))).toBe(status.OK);
      expect(await statusOf(client.delete({ id: byOwner.id, userId: group.admin }))).toBe(status.OK);
    });

    it('lets only the sender delete in a direct conversation', async () => {
      const direct = await announceDirect(publisher);
      const message = await send(direct, direct.a, 'hi');
      expect(await statusOf(client.delete({ id: message.id, userId: direct.b }))).toBe(
        status.PERMISSION_DENIED,
      );
      expect(await statusOf(client.delete({ id: message.id, userId: direct.a }))).toBe(status.OK);
    });
  });

  describe('List', () => {
    it('pages through 1,000 messages newest first while others are sent, never repeating or skipping', async () => {
      const group = await announceGroup(publisher);
      for (let batch = 0; batch < 10; batch += 1) {
        await Promise.all(
          Array.from({ length: 100 }, (_, i) => send(group, group.member, `m${batch * 100 + i}`)),
        );
      }
      const seen: number[] = [];
      let pageToken = '';
      let extra = 0;
      do {
        const [page] = await Promise.all([
          client.list({ id: group.id, userId: group.owner, pageSize: 50, pageToken }),
          send(group, group.admin, `meanwhile ${extra++}`),
        ]);
        seen.push(...page.messages.map((m) => m.seq));
        pageToken = page.nextPageToken;
      } while (pageToken);
      const top = seen[0]!;
      expect(top).toBeGreaterThanOrEqual(1000);
      expect(seen).toEqual(Array.from({ length: top }, (_, i) => top - i));
    });

    it('defaults to 50 messages a page and caps page_size at 200', async () => {
      const group = await announceGroup(publisher);
      await Promise.all(Array.from({ length: 230 }, (_, i) => send(group, group.member, `m${i}`)));
      expect((await client.list({ id: group.id, userId: group.member })).messages).toHaveLength(50);
      const big = await client.list({ id: group.id, userId: group.member, pageSize: 1000 });
      expect(big.messages).toHaveLength(200);
      expect(big.nextPageToken).not.toBe('');
    });

    it('refuses a tampered page token, a negative page size, a non-member and an unknown conversation', async () => {
      const group = await announceGroup(publisher);
      await Promise.all(Array.from({ length: 3 }, (_, i) => send(group, group.member, `m${i}`)));
      const { nextPageToken } = await client.list({ id: group.id, userId: group.member, pageSize: 1 });
      const tampered = `${Buffer.from('{"before":999}').toString('base64url')}.${nextPageToken.split('.')[1]}`;
      expect(await statusOf(client.list({ id: group.id, userId: group.member, pageToken: tampered }))).toBe(
        status.INVALID_ARGUMENT,
      );
      const other = await announceGroup(publisher);
      expect(
        await statusOf(client.list({ id: other.id, userId: other.member, pageToken: nextPageToken })),
      ).toBe(status.INVALID_ARGUMENT);
      expect(await statusOf(client.list({ id: group.id, userId: group.member, pageSize: -1 }))).toBe(
        status.INVALID_ARGUMENT,
      );
      expect(await statusOf(client.list({ id: group.id, userId: group.outsider }))).toBe(
        status.PERMISSION_DENIED,
      );
      expect(await statusOf(client.list({ id: randomUUID(), userId: group.member }))).toBe(status.NOT_FOUND);
    });
  });

  describe('membership from events', () => {
    it('lets a member added a moment ago send at once (read-your-writes)', async () => {
      const group = await announceGroup(publisher);
      const newcomer = `newcomer-${randomUUID()}`;
      await addMember(publisher, group.id, newcomer);
      await expect(send(group, newcomer, 'hi all')).resolves.toMatchObject({ senderId: newcomer });
    });

    it('applies membership changes that follow a rename it does not act on', async () => {
      const group = await announceGroup(publisher);
      await publisher.publish('group-service', EventType.GroupUpdated, group.id, {
        conversationId: group.id,
        name: 'Renamed',
        updatedBy: group.owner,
        updatedAt: new Date().toISOString(),
      });
      const newcomer = `newcomer-${randomUUID()}`;
      await addMember(publisher, group.id, newcomer);
      await expect(send(group, newcomer, 'after the rename')).resolves.toMatchObject({ senderId: newcomer });
    });

    it('lets a direct conversation’s members send as soon as it is announced', async () => {
      const direct = await announceDirect(publisher);
      await expect(send(direct, direct.b, 'hey')).resolves.toMatchObject({ seq: 1 });
    });

    it('denies Send, Reply and List to a removed member once MemberRemoved is applied', async () => {
      const group = await announceGroup(publisher);
      const earlier = await send(group, group.member, 'still here');
      await removeMember(publisher, group.id, group.member);
      await eventually(
        async () => (await statusOf(send(group, group.member, 'am I?'))) === status.PERMISSION_DENIED,
      );
      expect(
        await statusOf(client.reply({ id: earlier.id, userId: group.member, data: { text: 'x' } })),
      ).toBe(status.PERMISSION_DENIED);
      expect(await statusOf(client.list({ id: group.id, userId: group.member }))).toBe(
        status.PERMISSION_DENIED,
      );
    });

    it('purges a deleted conversation’s messages and answers NOT_FOUND from then on', async () => {
      const group = await announceGroup(publisher);
      const message = await send(group, group.member, 'bye');
      await publisher.publish('group-service', EventType.ConversationDeleted, group.id, {
        conversationId: group.id,
        deletedBy: group.owner,
        deletedAt: new Date().toISOString(),
      });
      await eventually(async () => (await statusOf(send(group, group.owner, 'hello?'))) === status.NOT_FOUND);
      const { rows } = await database.query(
        'SELECT count(*)::int AS n FROM message_service.messages WHERE conversation_id = $1',
        [group.id],
      );
      expect(rows[0]).toEqual({ n: 0 });
      expect(await statusOf(client.list({ id: group.id, userId: group.owner }))).toBe(status.NOT_FOUND);
      expect(
        await statusOf(client.update({ id: message.id, userId: group.member, data: { text: 'x' } })),
      ).toBe(status.NOT_FOUND);
    });
  });
});

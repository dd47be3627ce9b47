import { randomUUID } from 'node:crypto';
import { status, type ServiceError } from '@grpc/grpc-js';
import { eventually } from '@chat/testing';
import {
  type ConversationClient,
  type GroupClient,
  type MessageClient,
  type ParticipantData,
} from '@chat/contract';

export interface StoryClients {
  conversations: ConversationClient;
  messages: MessageClient;
  groups: GroupClient;
}

/** What the story tells its audience: each call and its result (the demo prints, tests collect). */
export interface StoryReporter {
  chapter(title: string): void;
  step(call: string, result: string): void;
  /** Before the first call: who the story's users are (the demo subscribes to one of them). */
  cast?(users: StoryUsers): Promise<void> | void;
}

export interface StoryUsers {
  alice: string;
  bob: string;
  carol: string;
  dave: string;
}

export class StoryError extends Error {
  override readonly name = 'StoryError';

  constructor(
    readonly call: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${call}: ${message}`, options);
  }
}

export interface StoryResult {
  directId: string;
  groupId: string;
  users: StoryUsers;
}

const statusName = (code: number) => status[code] ?? String(code);

/**
 * The product in one scripted story: two users' direct chat, a group with roles,
 * replies, an edit, a delete, a removal, an ownership transfer and the group's
 * deletion — through the three services' gRPC APIs only. Every step checks its
 * result and throws a StoryError naming the call when the service answers otherwise.
 */
export async function playStory(clients: StoryClients, reporter: StoryReporter): Promise<StoryResult> {
  const { conversations, messages, groups } = clients;
  const run = randomUUID().slice(0, 6);
  const users = { alice: `alice-${run}`, bob: `bob-${run}`, carol: `carol-${run}`, dave: `dave-${run}` };
  await reporter.cast?.(users);

  async function step<T>(
    call: string,
    action: () => Promise<T>,
    describe: (result: T) => string,
  ): Promise<T> {
    let result: T;
    try {
      result = await action();
    } catch (error) {
      const failure = error as ServiceError;
      throw new StoryError(
        call,
        failure.code === undefined
          ? `failed: ${failure.message}`
          : `failed with ${statusName(failure.code)}: ${failure.details ?? failure.message}`,
        {
          cause: error,
        },
      );
    }
    reporter.step(call, describe(result));
    return result;
  }

  async function refused(call: string, expected: status, action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (error) {
      const failure = error as ServiceError;
      if (failure.code !== expected) {
        throw new StoryError(
          call,
          `expected ${statusName(expected)}, got ${statusName(failure.code)}: ${failure.details}`,
        );
      }
      reporter.step(call, `refused as expected: ${statusName(failure.code)} — ${failure.details}`);
      return;
    }
    throw new StoryError(call, `expected ${statusName(expected)}, but it succeeded`);
  }

  function check(call: string, condition: boolean, what: string): void {
    if (!condition) throw new StoryError(call, what);
  }

  const describeMessages = (list: Array<{ seq: number; senderId: string; text: string }>) =>
    list.map((m) => `#${m.seq} ${m.senderId.replace(`-${run}`, '')}: "${m.text}"`).join(' | ');

  const roles = (participants: ParticipantData[]) =>
    participants
      .map((p) => `${p.userId.replace(`-${run}`, '')}:${['?', 'member', 'admin', 'owner'][p.role]}`)
      .join(', ');

  reporter.chapter(`A direct chat between ${users.alice} and ${users.bob}`);
  const direct = await step(
    'ConversationService.Create',
    () => conversations.create({ userId: users.alice, recipientId: users.bob }),
    (c) => `direct conversation ${c.id}`,
  );
  const again = await step(
    'ConversationService.Create (bob → alice)',
    () => conversations.create({ userId: users.bob, recipientId: users.alice }),
    (c) => `the same conversation ${c.id}`,
  );
  check('ConversationService.Create', again.id === direct.id, 'get-or-create returned another conversation');
  const hello = await step(
    'MessageService.Send',
    () =>
      messages.send({
        conversationId: direct.id,
        userId: users.alice,
        data: { text: 'Climbing on Saturday?' },
      }),
    (m) => `#${m.seq} "${m.text}"`,
  );
  await step(
    'MessageService.Reply',
    () => messages.reply({ id: hello.id, userId: users.bob, data: { text: 'Yes! Which crag?' } }),
    (m) => `#${m.seq} "${m.text}" (reply to #${hello.seq})`,
  );
  await step(
    'MessageService.Update',
    () =>
      messages.update({ id: hello.id, userId: users.alice, data: { text: 'Climbing on Saturday morning?' } }),
    (m) => `#${m.seq} edited to "${m.text}"`,
  );
  const history = await step(
    'ConversationService.Messages (page_size 1)',
    () => conversations.messages({ id: direct.id, userId: users.bob, pageSize: 1 }),
    (page) => `${describeMessages(page.messages)}; next_page_token ${page.nextPageToken ? 'set' : 'empty'}`,
  );
  const older = await step(
    'ConversationService.Messages (next page)',
    () =>
      conversations.messages({
        id: direct.id,
        userId: users.bob,
        pageSize: 1,
        pageToken: history.nextPageToken,
      }),
    (page) => `${describeMessages(page.messages)}; next_page_token ${page.nextPageToken ? 'set' : 'empty'}`,
  );
  check(
    'ConversationService.Messages',
    history.messages[0]?.seq === 2 && older.messages[0]?.seq === 1 && !older.nextPageToken,
    'history should page newest first: #2, then #1, then the end',
  );

  reporter.chapter('A group with roles');
  const group = await step(
    'GroupService.Create',
    () =>
      groups.create({
        userId: users.alice,
        data: { name: 'Climbing crew' },
        members: [users.bob, users.carol],
      }),
    (g) => `group ${g.id} "${g.name}", owner ${g.ownerId}, ${g.memberCount} members`,
  );
  await step(
    'GroupService.AddMembers',
    () => groups.addMembers({ id: group.id, userId: users.alice, users: [users.dave] }),
    () => `${users.dave} added`,
  );
  const participants = await step(
    'GroupService.GetParticipants',
    () => groups.getParticipants({ id: group.id, userId: users.carol }),
    (list) => roles(list.participants),
  );
  const participantOf = (userId: string) => participants.participants.find((p) => p.userId === userId)!.id;
  await step(
    'GroupService.MakeAdmin',
    () => groups.makeAdmin({ id: group.id, userId: users.alice, participantId: participantOf(users.bob) }),
    (list) => roles(list.participants),
  );
  const question = await step(
    'MessageService.Send (dave, just added)',
    () => messages.send({ conversationId: group.id, userId: users.dave, data: { text: 'Hi all, new here' } }),
    (m) => `#${m.seq} "${m.text}"`,
  );
  await step(
    'MessageService.Reply',
    () => messages.reply({ id: question.id, userId: users.carol, data: { text: 'Welcome, Dave!' } }),
    (m) => `#${m.seq} "${m.text}" (reply to #${question.seq})`,
  );
  const spam = await step(
    'MessageService.Send',
    () =>
      messages.send({ conversationId: group.id, userId: users.dave, data: { text: 'Buy cheap chalk at …' } }),
    (m) => `#${m.seq} "${m.text}"`,
  );
  await step(
    'MessageService.Delete (by admin bob)',
    () => messages.delete({ id: spam.id, userId: users.bob }),
    () => `#${spam.seq} is now a tombstone`,
  );
  await step(
    'GroupService.RemoveMember (bob removes dave)',
    () => groups.removeMember({ id: group.id, userId: users.bob, participantId: participantOf(users.dave) }),
    (list) => roles(list.participants),
  );
  // The removal reaches message-service as an event, within a short lag: wait for it with a
  // read that changes nothing, then show that dave can no longer send.
  await eventuallyRefused('MessageService.List (dave, removed)', status.PERMISSION_DENIED, () =>
    messages.list({ id: group.id, userId: users.dave }),
  );
  await refused('MessageService.Send (dave, removed)', status.PERMISSION_DENIED, () =>
    messages.send({ conversationId: group.id, userId: users.dave, data: { text: 'Am I still here?' } }),
  );
  await refused('GroupService.RemoveMember (bob on the owner)', status.PERMISSION_DENIED, () =>
    groups.removeMember({ id: group.id, userId: users.bob, participantId: participantOf(users.alice) }),
  );
  await step(
    'GroupService.MakeOwner (alice → bob)',
    () => groups.makeOwner({ id: group.id, userId: users.alice, participantId: participantOf(users.bob) }),
    () => `${users.bob} owns the group; ${users.alice} stays an admin`,
  );
  await step(
    'GroupService.Leave (alice)',
    () => groups.leave({ id: group.id, userId: users.alice }),
    (list) => roles(list.participants),
  );
  const inbox = await step(
    'ConversationService.List (bob)',
    () =>
      eventually(
        async () => {
          const list = await conversations.list({ userId: users.bob });
          if (list.conversations.length !== 2) {
            throw new Error(`bob is in ${list.conversations.length} conversations`);
          }
          return list;
        },
        { timeoutMs: 5_000, intervalMs: 25, description: 'bob to be in 2 conversations' },
      ),
    (list) => list.conversations.map((c) => (c.group ? `group "${c.name}"` : 'direct')).join(', '),
  );
  check('ConversationService.List', inbox.conversations.length === 2, 'bob should be in 2 conversations');
  await step(
    'GroupService.Delete (bob)',
    () => groups.delete({ id: group.id, userId: users.bob }),
    () => 'group deleted',
  );
  await eventuallyRefused('MessageService.List (carol, deleted group)', status.NOT_FOUND, () =>
    messages.list({ id: group.id, userId: users.carol }),
  );
  await refused('MessageService.Send (carol, deleted group)', status.NOT_FOUND, () =>
    messages.send({ conversationId: group.id, userId: users.carol, data: { text: 'Hello?' } }),
  );
  return { directId: direct.id, groupId: group.id, users };

  /** Retries a call until it is refused as expected (changes reach other services as events): 5 s at most. */
  async function eventuallyRefused(
    call: string,
    expected: status,
    action: () => Promise<unknown>,
  ): Promise<void> {
    try {
      await eventually(
        async () => {
          const code = await action().then(
            () => status.OK,
            (error: ServiceError) => error.code,
          );
          if (code !== expected) throw new Error(`still ${statusName(code)}`);
        },
        { timeoutMs: 5_000, intervalMs: 10, description: `${statusName(expected)}` },
      );
    } catch (error) {
      throw new StoryError(call, (error as Error).message, { cause: error });
    }
  }
}

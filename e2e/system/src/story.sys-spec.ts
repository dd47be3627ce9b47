import { EventType, type ChatEvent } from '@chat/contract';
import { eventually } from '@chat/testing';
import {
  EventRecorder,
  launchStack,
  playStory,
  type RunningStack,
  type StoryResult,
} from '@chat/testing-services';

/**
 * The demo's story (`npm run demo`) as assertions: the three built services as
 * separate processes, driven through gRPC clients only, with a notification listener
 * on the event stream.
 */
describe('the product story across the three services', () => {
  let stack: RunningStack;
  let listener: EventRecorder;
  let result: StoryResult;
  const steps: Array<{ call: string; result: string }> = [];

  beforeAll(async () => {
    stack = await launchStack({ logLevel: 'warn' });
    listener = await EventRecorder.start(stack.nats.url, stack.nats.streamName);
    result = await playStory(stack, {
      chapter: () => undefined,
      step: (call, outcome) => steps.push({ call, result: outcome }),
    });
  });

  afterAll(async () => {
    await listener?.close();
    await stack?.stop();
  });

  const typesOf = (events: ChatEvent[]) => events.map((event) => event.type);

  it('plays every step of the story successfully', () => {
    expect(steps.map((step) => step.call)).toEqual(
      expect.arrayContaining([
        'ConversationService.Create',
        'ConversationService.Messages (next page)',
        'GroupService.MakeOwner (alice → bob)',
        'MessageService.Send (dave, removed)',
        'GroupService.Delete (bob)',
      ]),
    );
    expect(steps.find((step) => step.call === 'MessageService.Send (dave, removed)')!.result).toMatch(
      /PERMISSION_DENIED/,
    );
  });

  it('tells a notification listener about the direct chat: created, three messages and an edit', async () => {
    const events = await eventually(() => {
      const received = listener.events({ conversationId: result.directId });
      if (received.length < 4) throw new Error(`${received.length} events so far`);
      return received;
    });
    expect(typesOf(events)).toEqual([
      EventType.ConversationCreated,
      EventType.MessageSent,
      EventType.MessageSent,
      EventType.MessageUpdated,
    ]);
    expect(events[0]).toMatchObject({ source: 'conversation-service', data: { kind: 'direct' } });
  });

  it('tells a notification listener about the group’s whole life, in order per source', async () => {
    const fromGroupService = await eventually(() => {
      const received = listener
        .events({ conversationId: result.groupId })
        .filter((e) => e.source === 'group-service');
      if (!received.some((e) => e.type === EventType.ConversationDeleted)) throw new Error('no deletion yet');
      return received;
    });
    expect(typesOf(fromGroupService)).toEqual([
      EventType.ConversationCreated,
      EventType.MembersAdded,
      EventType.RoleChanged, // bob made admin
      EventType.MemberRemoved, // dave removed
      EventType.RoleChanged, // ownership to bob
      EventType.MemberRemoved, // alice left
      EventType.ConversationDeleted,
    ]);
    expect(fromGroupService.map((event) => event.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(fromGroupService[3]!.data).toMatchObject({ userId: result.users.dave, reason: 'removed' });
    expect(fromGroupService[5]!.data).toMatchObject({ userId: result.users.alice, reason: 'left' });

    const fromMessageService = listener
      .events({ conversationId: result.groupId })
      .filter((e) => e.source === 'message-service');
    // Nothing from dave after his removal, nothing from carol after the deletion.
    expect(typesOf(fromMessageService)).toEqual([
      EventType.MessageSent,
      EventType.MessageSent,
      EventType.MessageSent,
      EventType.MessageDeleted,
    ]);
    expect(fromMessageService.map((event) => event.sequence)).toEqual(
      fromMessageService.map((_, index) => index + 1),
    );
  });
});

import type { MessageData } from '@chat/contract';

import type { SystemStack } from './stack';

/** A group the bench sends into: its id and its members, the owner first. */
export interface BenchGroup {
  id: string;
  members: string[];
}

/** A message text of 100 characters, a chat line of the usual length. */
export const TEXT =
  'Benchmark message: about the length of a short chat line, with a little more text to make a hundred.';

/** A random member of a random group. */
export function pickSender(groups: readonly BenchGroup[]): { conversationId: string; userId: string } {
  const group = groups[Math.floor(Math.random() * groups.length)]!;
  return {
    conversationId: group.id,
    userId: group.members[Math.floor(Math.random() * group.members.length)]!,
  };
}

/** One MessageService.Send by a random member of a random group. */
export function sendRandom(stack: SystemStack, groups: readonly BenchGroup[]): Promise<MessageData> {
  const { conversationId, userId } = pickSender(groups);
  return stack.messages.send({ conversationId, userId, data: { text: TEXT } });
}

// `npm run demo`: with the stack up (`npm start` in another terminal), plays the product's
// story through gRPC and prints each call, its result and, as they arrive, the events a
// notification service listening to the stream receives and the live updates a second user's
// device gets from ConversationService.Subscribe. Exits non-zero, naming the call, when anything
// fails.
import {
  createConversationClient,
  createGroupClient,
  createMessageClient,
  type ChatEvent,
  type Update,
} from '@chat/contract';
import { EventRecorder, playStory, StoryError, UpdateWatcher } from '@chat/testing-services';

const env = (name: string, fallback: string) => process.env[name]?.trim() || fallback;
const addresses = {
  conversations: env('CONVERSATION_SERVICE_URL', '127.0.0.1:50051'),
  messages: env('MESSAGE_SERVICE_URL', '127.0.0.1:50052'),
  groups: env('GROUP_SERVICE_URL', '127.0.0.1:50053'),
};
const natsUrl = env('NATS_URL', 'nats://127.0.0.1:4222');
const stream = env('NATS_STREAM', 'CHAT');

const color = process.stdout.isTTY
  ? {
      dim: (s: string) => `\x1b[2m${s}\x1b[0m`,
      bold: (s: string) => `\x1b[1m${s}\x1b[0m`,
      cyan: (s: string) => `\x1b[36m${s}\x1b[0m`,
      red: (s: string) => `\x1b[31m${s}\x1b[0m`,
    }
  : { dim: (s: string) => s, bold: (s: string) => s, cyan: (s: string) => s, red: (s: string) => s };

/** One live update as a user's device would show it. */
function describeUpdate(update: Update): string {
  if (update.caughtUp) return 'caught up: live from here';
  if (update.message) {
    const m = update.message;
    const what = m.deleted
      ? 'deleted'
      : m.updatedAt
        ? `edited to ${JSON.stringify(m.text)}`
        : JSON.stringify(m.text);
    return `message #${m.seq} from ${m.senderId} ${what} ${color.dim(`conversation=${m.conversationId.slice(0, 8)}…`)}`;
  }
  if (update.conversation) {
    const c = update.conversation;
    return `conversation ${c.name ? JSON.stringify(c.name) : 'direct'} ${color.dim(`members=${c.memberCount} unread=${c.unreadCount}`)}`;
  }
  if (update.read)
    return `read up to #${update.read.lastReadSeq} ${color.dim(`unread=${update.read.unreadCount}`)}`;
  if (update.removedConversationId) return `removed from ${update.removedConversationId.slice(0, 8)}…`;
  return JSON.stringify(update);
}

function describeEvent(event: ChatEvent): string {
  const data = event.data as unknown as Record<string, unknown>;
  const detail = ['text', 'name', 'userId', 'reason', 'kind']
    .filter((key) => typeof data[key] === 'string')
    .map((key) => `${key}=${JSON.stringify(data[key])}`)
    .join(' ');
  return `${event.type} ${color.dim(`conversation=${event.subject.slice(0, 8)}… seq=${event.sequence} from ${event.source}`)} ${detail}`;
}

async function main(): Promise<number> {
  const clients = {
    conversations: createConversationClient(addresses.conversations, { timeoutMs: 10_000 }),
    messages: createMessageClient(addresses.messages, { timeoutMs: 10_000 }),
    groups: createGroupClient(addresses.groups, { timeoutMs: 10_000 }),
  };
  try {
    for (const [name, client] of Object.entries(clients)) {
      const healthy = await client.health({}, { timeoutMs: 3_000 }).then(
        (reply) => reply.success,
        () => false,
      );
      if (!healthy) {
        process.stderr.write(
          `${color.red('✘')} ${name} at ${addresses[name as keyof typeof addresses]} is not up and healthy.\n` +
            '  Start the stack with `npm start` in another terminal, then run `npm run demo` again.\n',
        );
        return 2;
      }
    }
    const listener = await EventRecorder.start(natsUrl, stream, { fromNow: true });
    listener.onEvent((event) =>
      process.stdout.write(`      ${color.cyan('⇢ event')} ${describeEvent(event)}\n`),
    );
    let device: UpdateWatcher | undefined;
    try {
      const result = await playStory(clients, {
        chapter: (title) => process.stdout.write(`\n${color.bold(`── ${title} ──`)}\n`),
        step: (call, outcome) => process.stdout.write(`  ${color.bold(call)}\n    → ${outcome}\n`),
        // Bob's phone, connected before the story starts: what a gateway would push to it.
        cast: async (users) => {
          device = UpdateWatcher.open(clients.conversations, users.bob);
          device.stream.on('data', (update: Update) =>
            process.stdout.write(
              `      ${color.cyan(`⇠ ${users.bob}'s device`)} ${describeUpdate(update)}\n`,
            ),
          );
          await device.until((updates) => updates.some((update) => update.caughtUp), 'caught_up');
        },
      });
      await new Promise((resolve) => setTimeout(resolve, 500)); // let the last events and updates arrive
      const received = listener
        .events()
        .filter((event) => event.subject === result.directId || event.subject === result.groupId);
      process.stdout.write(
        `\n${color.bold('✔ The whole story succeeded.')} A notification listener received ${received.length} events; ` +
          `${result.users.bob}'s device received ${device?.updates.length ?? 0} live updates.\n`,
      );
      return 0;
    } finally {
      device?.cancel();
      await listener.close();
    }
  } catch (error) {
    if (error instanceof StoryError) {
      process.stderr.write(`\n${color.red('✘ The story failed at')} ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    for (const client of Object.values(clients)) client.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${color.red('✘')} ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);

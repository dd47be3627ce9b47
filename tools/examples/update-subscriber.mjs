#!/usr/bin/env node
// An example device of a user, the way an API gateway holds one per WebSocket: subscribes to
// ConversationService.Subscribe for the user and prints each live update as one line (or the
// whole update with --json). The contract it reads is docs/gateway.md#live-updates.
//
//   npm run updates:tail -- --user alice                 from now: caught_up, then live
//   npm run updates:tail -- --user alice --cursor C      everything after cursor C, then live
//   npm run updates:tail -- --user alice --json          whole updates, one JSON object a line
//
// It does what a gateway does with the stream: remembers the cursor of the last update it
// printed, and when the stream ends with UNAVAILABLE (the replica shut down or went away) or
// RESOURCE_EXHAUSTED (it did not read fast enough), subscribes again from that cursor after a
// short pause, so nothing is missed or repeated. FAILED_PRECONDITION (CURSOR_EXPIRED) means the
// cursor is older than what the service keeps: a real client reloads its conversations with List
// and Messages and subscribes afresh; this example says so and starts from now.
//
// Environment: CONVERSATION_SERVICE_URL (default 127.0.0.1:50051).
import { credentials, loadPackageDefinition, status } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const USAGE = `Usage: node tools/examples/update-subscriber.mjs --user USER [options]

Prints the live updates of USER from ConversationService.Subscribe as they come, resuming from
the last cursor when the stream breaks.

  --user USER        whose updates (the user_id a gateway asserts)
  --cursor CURSOR    resume after this cursor (default: from now)
  --json             print each whole update as one line of JSON
  -h, --help         this text

Environment: CONVERSATION_SERVICE_URL (default 127.0.0.1:50051).`;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RESUMABLE = new Set([status.UNAVAILABLE, status.RESOURCE_EXHAUSTED, status.CANCELLED, status.INTERNAL]);

function fail(message) {
  console.error(`update-subscriber: ${message}`);
  process.exit(2);
}

function readOptions() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        user: { type: 'string' },
        cursor: { type: 'string', default: '' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    fail(`${error.message}\n\n${USAGE}`);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (!values.user) fail(`--user is required\n\n${USAGE}`);
  return values;
}

function describe(update) {
  const at = `${new Date().toISOString().slice(11, 23)}`;
  if (update.caught_up) return `${at} caught up: live from here`;
  if (update.message) {
    const m = update.message;
    const what = m.deleted
      ? 'deleted'
      : m.updated_at
        ? `edited: ${JSON.stringify(m.text)}`
        : JSON.stringify(m.text);
    return `${at} message #${m.seq} in ${m.conversation_id} from ${m.sender_id} ${what}`;
  }
  if (update.conversation) {
    const c = update.conversation;
    return `${at} conversation ${c.id} ${c.name ? JSON.stringify(c.name) : 'direct'} members=${c.member_count} unread=${c.unread_count}`;
  }
  if (update.read)
    return `${at} read ${update.read.conversation_id} up to #${update.read.last_read_seq} unread=${update.read.unread_count}`;
  if (update.removed_conversation_id) return `${at} removed from ${update.removed_conversation_id}`;
  return `${at} ${JSON.stringify(update)}`;
}

function main() {
  const options = readOptions();
  const address = process.env.CONVERSATION_SERVICE_URL?.trim() || '127.0.0.1:50051';
  const definition = loadSync(path.join(ROOT, 'protos/chat.proto'), {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [path.join(ROOT, 'protos')],
  });
  const chat = loadPackageDefinition(definition).chat;
  const client = new chat.ConversationService(address, credentials.createInsecure());
  let cursor = options.cursor;
  let call;

  const subscribe = () => {
    call = client.Subscribe({ user_id: options.user, cursor });
    call.on('data', (update) => {
      cursor = update.cursor;
      console.log(options.json ? JSON.stringify(update) : describe(update));
    });
    call.on('error', (error) => {
      if (error.code === status.CANCELLED && stopping) return;
      const code = error.metadata?.get('error-code')?.[0] ?? '';
      console.error(`stream ended: ${status[error.code] ?? error.code} ${code} ${error.details}`);
      if (error.code === status.FAILED_PRECONDITION) {
        console.error('the cursor expired: a client reloads with List and Messages; starting from now');
        cursor = '';
      } else if (!RESUMABLE.has(error.code)) {
        process.exit(1);
      }
      setTimeout(subscribe, 1_000);
    });
    call.on('end', () => {
      if (!stopping) setTimeout(subscribe, 1_000);
    });
  };

  let stopping = false;
  process.once('SIGINT', () => {
    stopping = true;
    call?.cancel();
    client.close();
    if (cursor) console.error(`last cursor: ${cursor}`);
  });
  console.error(
    `subscribing ${options.user} at ${address}${cursor ? ' from a cursor' : ' from now'} (Ctrl-C stops)`,
  );
  subscribe();
}

main();

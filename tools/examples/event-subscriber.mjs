#!/usr/bin/env node
// An example subscriber to the chat events, the way a notification service would consume
// them: prints every event as one line (or the whole CloudEvents envelope with --json).
// The contract it reads is docs/events.md.
//
//   npm run events:tail                              all events, durable consumer "example-subscriber"
//   npm run events:tail -- 'chat.group.>'            only the group events (durable example-subscriber-group-all)
//   npm run events:tail -- --json 'chat.message.>'   whole envelopes, one JSON object a line
//   npm run events:tail -- --from-now                only events published from now on, nothing kept
//   npm run events:tail -- --durable my-notifier     another durable consumer (its own position)
//
// Environment: NATS_URL (default nats://127.0.0.1:4222, comma-separated for a cluster),
// NATS_STREAM (default CHAT), NATS_SUBJECT_PREFIX (default chat).
//
// Two ways to read the stream:
// - a durable pull consumer (the default, `--durable NAME`): JetStream remembers what it has
//   acknowledged, so a restart resumes where it stopped and nothing is missed. A real
//   notification service uses a durable name of its own (e.g. `notification-service`) and all
//   its replicas share it: JetStream spreads the events over them, each event to one replica.
//   The first run of a new name starts at the oldest event the stream still holds (7 days).
//   A durable consumer has one filter subject for life (changing it would skip events), so a
//   narrower filter gets a durable name of its own unless --durable names one.
//   The consumer stays on the server when this exits; remove it with
//   `nats consumer rm CHAT example-subscriber` when you no longer want it.
// - an ordered ephemeral consumer (`--from-now`): starts after the last event in the stream,
//   nothing to acknowledge, nothing kept on the server (the library recreates it on a gap; we
//   delete it when we leave, the server after 5 idle minutes when we could not). Good for
//   watching, not for doing work.
//
// This is an example: it acknowledges right after printing and de-duplicates by event id in
// memory. A real consumer acknowledges after its own side effect has committed and keeps an
// inbox table keyed by event id in the same transaction as the effect, because delivery is
// at least once and an in-memory set forgets on restart and is not shared between replicas.
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { parseArgs } from 'node:util';

const USAGE = `Usage: node tools/examples/event-subscriber.mjs [options] [filter-subject]

Prints the chat events of the JetStream stream $NATS_STREAM (default CHAT) as they come.

  filter-subject     narrow to part of the stream, e.g. 'chat.group.>' or chat.message.sent.v1
                     (quote a subject with > in a shell; default: $NATS_SUBJECT_PREFIX.>, i.e. chat.>)
  --durable NAME     durable pull consumer to create or reuse (default: example-subscriber,
                     or example-subscriber-group-all for chat.group.> and so on: a durable
                     consumer keeps one filter, so each filter gets a name of its own)
  --from-now         ordered ephemeral consumer: only events published from now on
  --json             print each whole envelope as one line of JSON
  -h, --help         this text

Environment: NATS_URL (default nats://127.0.0.1:4222), NATS_STREAM (default CHAT),
NATS_SUBJECT_PREFIX (default chat).`;

const DEFAULT_DURABLE = 'example-subscriber';
const SEEN_IDS_KEPT = 10_000;

function fail(message) {
  console.error(`event-subscriber: ${message}`);
  process.exit(2);
}

function readOptions() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        durable: { type: 'string' },
        'from-now': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    fail(`${error.message}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const env = (name, fallback) => process.env[name]?.trim() || fallback;
  const natsUrl = env('NATS_URL', 'nats://127.0.0.1:4222');
  const stream = env('NATS_STREAM', 'CHAT');
  const prefix = env('NATS_SUBJECT_PREFIX', 'chat');
  if (positionals.length > 1) fail(`one filter subject at most, got: ${positionals.join(' ')}`);
  const filter = positionals[0] ?? `${prefix}.>`;
  if (filter !== `${prefix}.>` && !filter.startsWith(`${prefix}.`)) {
    fail(
      `the filter subject must start with "${prefix}." (the stream's subjects are ${prefix}.>), got ${filter}`,
    );
  }
  if (values['from-now'] && values.durable !== undefined) {
    fail('--durable and --from-now exclude each other: a durable consumer keeps its own position');
  }
  const durable = values['from-now'] ? undefined : (values.durable ?? defaultDurable(prefix, filter));
  if (durable !== undefined && !/^[A-Za-z0-9_-]+$/.test(durable)) {
    fail(`a durable name contains only letters, digits, _ and -, got ${JSON.stringify(durable)}`);
  }
  return { natsUrl, stream, prefix, filter, durable, json: values.json };
}

/**
 * Creates the durable pull consumer, or reuses it when it has the same filter. A durable
 * consumer's filter is never changed here: the server keeps the consumer's position, so the
 * events that passed while it filtered something else would be skipped without a word.
 */
async function ensureDurable(manager, stream, durable, filter) {
  let existing;
  try {
    existing = await manager.consumers.info(stream, durable);
  } catch (error) {
    if (!/consumer not found/i.test(String(error?.message))) throw error;
  }
  if (!existing) {
    try {
      await manager.consumers.add(stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        // nats-server 2.9 takes one filter subject (filter_subjects needs 2.10).
        filter_subject: filter,
        ack_wait: 30_000_000_000, // 30 s in nanoseconds: unacknowledged events come back after it
        max_deliver: 10, // bounded redelivery; JetStream's default is forever
        max_ack_pending: 1_000,
      });
      return 'created';
    } catch (error) {
      // Another replica created it at the same moment: then it is ours too.
      if (!/already (exists|in use)/i.test(String(error?.message))) throw error;
      existing = await manager.consumers.info(stream, durable);
    }
  }
  if (typeof existing.config.deliver_subject === 'string') {
    throw new Error(`consumer ${durable} on ${stream} is a push consumer; choose another --durable name`);
  }
  if ((existing.config.filter_subject || `>`) !== filter) {
    throw new Error(
      `consumer ${durable} on ${stream} filters ${existing.config.filter_subject || '>'}, not ${filter}; ` +
        `choose another --durable name, or remove it first: nats consumer rm ${stream} ${durable}`,
    );
  }
  return 'reused: continuing after the last event it acknowledged';
}

/** `example-subscriber` for the whole stream, `example-subscriber-group-all` for `chat.group.>`, … */
function defaultDurable(prefix, filter) {
  if (filter === `${prefix}.>`) return DEFAULT_DURABLE;
  const tokens = filter
    .slice(prefix.length + 1)
    .split('.')
    .map((token) => (token === '>' ? 'all' : token === '*' ? 'any' : token.replace(/[^A-Za-z0-9_-]/g, '_')));
  return `${DEFAULT_DURABLE}-${tokens.join('-')}`;
}

const quote = (text, max = 60) => {
  const value = String(text ?? '');
  return JSON.stringify(value.length > max ? `${value.slice(0, max - 1)}…` : value);
};
const users = (members = []) => members.map((member) => member.userId).join(', ');

/** A compact, human summary of an event's data; unknown types show their data as JSON. */
function summarize(event) {
  const data = event.data ?? {};
  switch (event.type) {
    case 'chat.conversation.created.v1':
      return data.kind === 'group'
        ? `group ${quote(data.name)} created by ${data.creatorId}, members: ${users(data.members)}`
        : `direct conversation ${users(data.members)}, created by ${data.creatorId}`;
    case 'chat.conversation.deleted.v1':
      return data.deletedBy ? `deleted by ${data.deletedBy}` : 'deleted (the last member left)';
    case 'chat.group.updated.v1':
      return `renamed to ${quote(data.name)} by ${data.updatedBy}`;
    case 'chat.group.members_added.v1':
      return `${data.addedBy} added ${users(data.members)} (${data.memberCount} members)`;
    case 'chat.group.member_removed.v1':
      return data.reason === 'left'
        ? `${data.userId} left (${data.memberCount} members)`
        : `${data.removedBy} removed ${data.userId} (${data.memberCount} members)`;
    case 'chat.group.role_changed.v1':
      return `${data.changedBy}: ${(data.changes ?? [])
        .map((change) => `${change.userId} ${change.previousRole}→${change.role}`)
        .join(', ')}; owner ${data.ownerId}`;
    case 'chat.message.sent.v1':
      return `#${data.seq} ${data.senderId}: ${quote(data.text)}${data.replyId ? ` (reply to ${data.replyId})` : ''}`;
    case 'chat.message.updated.v1':
      return `#${data.seq} ${data.senderId} edited: ${quote(data.text)}`;
    case 'chat.message.deleted.v1':
      return `#${data.seq} from ${data.senderId} deleted by ${data.deletedBy}`;
    default: {
      // A type this example does not know (a newer one): show it, never fail on it.
      const json = JSON.stringify(data);
      return `(unknown type) ${json.length > 120 ? `${json.slice(0, 119)}…` : json}`;
    }
  }
}

/** Parses an envelope; returns an error text instead of throwing when it is not one. */
function parseEnvelope(message) {
  let event;
  try {
    event = JSON.parse(message.string());
  } catch {
    return { problem: 'payload is not JSON' };
  }
  if (typeof event !== 'object' || event === null || event.specversion !== '1.0') {
    return { problem: 'not a CloudEvents 1.0 envelope' };
  }
  if (typeof event.id !== 'string' || typeof event.type !== 'string') {
    return { problem: 'envelope without id or type' };
  }
  return { event };
}

async function main() {
  const options = readOptions();
  const { stream, filter, durable } = options;

  const nc = await connect({
    servers: options.natsUrl.split(',').map((server) => server.trim()),
    name: durable ? `event-subscriber:${durable}` : 'event-subscriber',
    maxReconnectAttempts: -1, // never give up: the client reconnects and the consumer resumes
    reconnectTimeWait: 1_000,
  }).catch((error) => fail(`cannot connect to NATS at ${options.natsUrl}: ${error.message}`));
  let online = true;
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        online = false;
        console.error('# NATS connection lost; reconnecting…');
      } else if (status.type === 'reconnect') {
        online = true;
        console.error('# NATS connection restored');
      }
    }
  })();

  const manager = await jetstreamManager(nc);
  let streamInfo;
  try {
    streamInfo = await manager.streams.info(stream);
  } catch (error) {
    await nc.close();
    fail(
      /stream not found/i.test(String(error?.message))
        ? `stream ${stream} does not exist on ${options.natsUrl}: start the services (npm start) or set NATS_STREAM`
        : error.message,
    );
  }

  const js = jetstream(nc);
  let consumer;
  if (durable) {
    let how;
    try {
      how = await ensureDurable(manager, stream, durable, filter);
    } catch (error) {
      await nc.close();
      fail(error.message);
    }
    consumer = await js.consumers.get(stream, durable);
    console.error(`# ${stream} ${filter}: durable consumer ${durable} (${how}); Ctrl-C to stop`);
  } else {
    // "Deliver new", made explicit: start right after the stream's last message. (With
    // deliver_policy "new" the library would restart an ordered consumer from sequence 1 if it
    // had to recreate it before the first event arrived.)
    consumer = await js.consumers.get(stream, {
      filter_subjects: filter, // a string becomes filter_subject, which nats-server 2.9 understands
      opt_start_seq: streamInfo.state.last_seq + 1,
    });
    console.error(`# ${stream} ${filter}: new events from now on (ordered consumer); Ctrl-C to stop`);
  }

  const messages = await consumer.consume({ max_messages: 100 });
  void (async () => {
    for await (const status of messages.status()) {
      if (
        ['heartbeats_missed', 'consumer_deleted', 'consumer_not_found', 'stream_not_found'].includes(
          status.type,
        )
      ) {
        console.error(`# consumer: ${status.type}`);
      }
    }
  })();

  let stopping = false;
  const stop = (signal) => {
    if (stopping) process.exit(130); // a second Ctrl-C: leave now
    stopping = true;
    console.error(`# ${signal}: stopping`);
    void messages.close();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  // Event ids already printed, oldest first (a Map keeps insertion order), bounded.
  const seen = new Map();
  for await (const message of messages) {
    const { event, problem } = parseEnvelope(message);
    // Set when reading a dead-letter stream (NATS_STREAM=CHAT_DEADLETTER NATS_SUBJECT_PREFIX=deadletter.chat).
    const deadLetterReason = message.headers?.get('Chat-Dead-Letter-Reason');
    const deadLetter = deadLetterReason
      ? ` [dead-lettered by ${message.headers.get('Chat-Consumer')}: ${deadLetterReason}]`
      : '';
    if (problem) {
      console.error(`# ${message.subject} stream seq ${message.seq}: skipped, ${problem}${deadLetter}`);
    } else if (seen.has(event.id)) {
      console.error(`# ${event.id}: duplicate of an event already printed, skipped`);
    } else {
      seen.set(event.id, true);
      if (seen.size > SEEN_IDS_KEPT) seen.delete(seen.keys().next().value);
      if (options.json) {
        console.log(JSON.stringify(event));
      } else {
        const redelivered = message.info.deliveryCount > 1 ? ` (delivery ${message.info.deliveryCount})` : '';
        console.log(
          `${event.time} ${event.type} conv=${event.subject} seq=${event.sequence} ${summarize(event)}${redelivered}${deadLetter}`,
        );
      }
    }
    // After printing, our whole "side effect". Ordered consumers have nothing to acknowledge.
    if (durable) message.ack();
    if (stopping) break;
  }

  // Sends the acknowledgements still buffered, then closes. The ordered consumer's server
  // side is removed by its inactivity threshold; delete it now to be tidy.
  if (!durable && online) await consumer.delete().catch(() => undefined);
  await nc.drain().catch(async () => {
    // NATS is unreachable right now: JetStream redelivers what was not acknowledged.
    console.error('# could not drain the connection (NATS unreachable); closing');
    await nc.close();
  });
}

main().catch((error) => {
  console.error(`event-subscriber: ${error?.stack ?? error}`);
  process.exit(1);
});

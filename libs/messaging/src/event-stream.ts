import { jetstreamManager, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

export interface EventStreamSettings {
  /** The JetStream stream of chat events (`CHAT` by default; tests use their own). */
  stream: string;
  /** Every event subject starts with it: `chat` → `chat.group.member_removed.v1`. */
  subjectPrefix: string;
  /** How long JetStream remembers `Nats-Msg-Id`s to drop duplicates (at least 2 minutes). */
  duplicateWindowMs?: number;
  /** How long events stay in the stream. */
  maxAgeMs?: number;
  /** Stream replicas (3 on a JetStream cluster). */
  replicas?: number;
}

export const DEFAULT_DUPLICATE_WINDOW_MS = 2 * 60_000;
export const DEFAULT_STREAM_MAX_AGE_MS = 7 * 24 * 3_600_000;

const nanos = (ms: number) => ms * 1_000_000;

/** Events a consumer gave up on go to `deadletter.<prefix>.<consumer>`, in a stream of their own. */
export function deadLetterSubject(subjectPrefix: string, consumer: string): string {
  return `deadletter.${subjectPrefix}.${consumer}`;
}

export function deadLetterStream(stream: string): string {
  return `${stream}_DEADLETTER`;
}

/**
 * Creates the event stream and its dead-letter stream, or brings their settings up to
 * date; any service may call it at start, concurrently with the others.
 */
export async function ensureEventStreams(nats: NatsConnection, settings: EventStreamSettings): Promise<void> {
  const manager = await jetstreamManager(nats);
  const common: Partial<StreamConfig> = {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: settings.replicas ?? 1,
    max_age: nanos(settings.maxAgeMs ?? DEFAULT_STREAM_MAX_AGE_MS),
    duplicate_window: nanos(Math.max(settings.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS, 120_000)),
  };
  const streams: Array<Partial<StreamConfig> & { name: string }> = [
    { ...common, name: settings.stream, subjects: [`${settings.subjectPrefix}.>`] },
    {
      ...common,
      name: deadLetterStream(settings.stream),
      subjects: [`deadletter.${settings.subjectPrefix}.>`],
    },
  ];
  for (const config of streams) {
    try {
      const existing = await manager.streams.info(config.name);
      await manager.streams.update(config.name, { ...existing.config, ...config });
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
      try {
        await manager.streams.add(config);
      } catch (addError) {
        // Another service created it between our look and our add: bring it up to date.
        if (!/already in use/i.test(String((addError as Error).message))) throw addError;
        const existing = await manager.streams.info(config.name);
        await manager.streams.update(config.name, { ...existing.config, ...config });
      }
    }
  }
}

function isStreamNotFound(error: unknown): boolean {
  return /stream not found/i.test(String((error as Error)?.message));
}

import { jetstream, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import type { DataSource } from 'typeorm';

import type { NatsConnection } from '@chat/messaging';

import type { Cleanup, Deadline } from '../support/harness';
import { perSecond, summarise, type Summary } from '../support/stats';
import { now } from './backbone';

export interface UnitCosts {
  /** One-row INSERT + COMMIT, one after the other: the WAL flush (fsync) every transaction pays. */
  postgresCommitMs: Summary;
  /** One JetStream publish awaiting its ack, one after the other (file storage, the event's size). */
  jetstreamPublishAckMs: Summary;
  /** JetStream publishes with 64 awaiting their ack at once: the broker's own ceiling here. */
  jetstreamPublishesPerSecond: number;
  payloadBytes: number;
}

/**
 * What each hop costs alone, on the otherwise idle pipeline, to read the pipeline figures against: a
 * PostgreSQL commit and a JetStream publish + ack. The publishes go to a probe stream of their own
 * (deleted afterwards), so the consumer never sees them.
 */
export async function measureUnitCosts(options: {
  dataSource: DataSource;
  nats: NatsConnection;
  jsm: JetStreamManager;
  streamName: string;
  subjectPrefix: string;
  payload: string;
  deadline: Deadline;
  cleanup: Cleanup;
}): Promise<UnitCosts> {
  const { dataSource, nats, jsm, deadline } = options;
  const commits: number[] = [];
  for (let index = 0; index < 300; index += 1) {
    deadline.check('measuring PostgreSQL commits');
    const started = now();
    await dataSource.transaction((manager) => manager.query('INSERT INTO bench_probe DEFAULT VALUES'));
    commits.push(now() - started);
  }

  const probeStream = `${options.streamName}_PROBE`;
  const subject = `${options.subjectPrefix}_probe.event`;
  await jsm.streams.add({
    name: probeStream,
    subjects: [`${options.subjectPrefix}_probe.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    num_replicas: 1,
  });
  const deleteProbeStream = () => jsm.streams.delete(probeStream).catch(() => false);
  options.cleanup.add(`delete stream ${probeStream}`, deleteProbeStream);
  const js = jetstream(nats);
  const acks: number[] = [];
  for (let index = 0; index < 1_000; index += 1) {
    deadline.check('measuring JetStream publishes');
    const started = now();
    await js.publish(subject, options.payload, { msgID: `sequential-${index}` });
    acks.push(now() - started);
  }

  const total = 10_000;
  const inFlight = new Set<Promise<unknown>>();
  const started = now();
  for (let index = 0; index < total; index += 1) {
    if (index % 500 === 0) deadline.check('measuring JetStream publishes');
    if (inFlight.size >= 64) await Promise.race(inFlight);
    const ack: Promise<unknown> = js
      .publish(subject, options.payload, { msgID: `parallel-${index}` })
      .finally(() => inFlight.delete(ack));
    inFlight.add(ack);
  }
  await Promise.all(inFlight);
  const parallelMs = now() - started;
  await deleteProbeStream();

  return {
    postgresCommitMs: summarise(commits),
    jetstreamPublishAckMs: summarise(acks),
    jetstreamPublishesPerSecond: perSecond(total, parallelMs),
    payloadBytes: Buffer.byteLength(options.payload),
  };
}

import type { Server } from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import type { Logger } from './logger';

export interface DependencyProbes {
  /** True when PostgreSQL answers. */
  database(): Promise<boolean>;
  /** True when NATS answers. */
  nats(): Promise<boolean>;
}

export interface HealthReport {
  serving: boolean;
  database: boolean;
  nats: boolean;
}

/**
 * Keeps grpc.health.v1 honest: SERVING while PostgreSQL and NATS both answer,
 * NOT_SERVING while either does not (the process stays up and recovers by itself),
 * NOT_SERVING for good once shutdown begins. Reports for the server as a whole ('')
 * and for the fully-qualified chat service.
 */
export class HealthMonitor {
  private readonly implementation: HealthImplementation;
  private readonly services: string[];
  private last: HealthReport | undefined;
  private timer: NodeJS.Timeout | undefined;
  private shuttingDown = false;

  constructor(
    grpcService: string,
    private readonly probes: DependencyProbes,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {
    this.services = ['', grpcService];
    this.implementation = new HealthImplementation(
      Object.fromEntries(this.services.map((service) => [service, 'NOT_SERVING'])),
    );
  }

  addToServer(server: Pick<Server, 'addService'>): void {
    this.implementation.addToServer(server as Server);
  }

  /** Probes both dependencies now and publishes the result. */
  async check(): Promise<HealthReport> {
    const [database, nats] = await Promise.all([this.probes.database(), this.probes.nats()]);
    const report = { serving: database && nats && !this.shuttingDown, database, nats };
    this.publish(report);
    return report;
  }

  start(): void {
    const tick = () => {
      this.timer = setTimeout(
        () => void this.check().finally(() => !this.shuttingDown && tick()),
        this.intervalMs,
      );
      this.timer.unref();
    };
    tick();
  }

  /** From now on the service reports NOT_SERVING so load balancers drain it. */
  beginShutdown(): void {
    this.shuttingDown = true;
    clearTimeout(this.timer);
    this.setAll('NOT_SERVING');
  }

  private publish(report: HealthReport): void {
    if (
      this.last?.serving !== report.serving ||
      this.last.database !== report.database ||
      this.last.nats !== report.nats
    ) {
      const fields = { database: report.database ? 'up' : 'down', nats: report.nats ? 'up' : 'down' };
      if (report.serving) this.logger.info(fields, 'Health: SERVING');
      else this.logger.warn(fields, 'Health: NOT_SERVING');
    }
    this.last = report;
    this.setAll(report.serving ? 'SERVING' : 'NOT_SERVING');
  }

  private setAll(status: ServingStatus): void {
    for (const service of this.services) this.implementation.setStatus(service, status);
  }
}

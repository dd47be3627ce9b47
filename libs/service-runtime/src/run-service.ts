import type { z } from 'zod';
import { runMigrations } from '@chat/persistence';
import { ConfigError, loadConfig, type ServiceConfig } from './config';
import { checkGrpcHealth, createLogger } from '@chat/grpc';
import { openDataSource, startService, type ServiceDefinition } from './start-service';
import { stopTracing, tracingConfigured } from './tracing';

const USAGE = 'usage: node main.js [serve | migrate | healthcheck | statements]';

export function loadServiceConfig<Extra extends z.ZodRawShape>(
  definition: ServiceDefinition<Extra>,
  env: NodeJS.ProcessEnv = process.env,
): ServiceConfig<z.infer<z.ZodObject<Extra>>> {
  return loadConfig(env, { defaultPort: definition.defaultPort, extra: definition.extraConfig });
}

/**
 * The whole of an app's main.ts: `serve` (default) runs the service until SIGTERM or
 * SIGINT, `migrate` applies the schema's migrations and exits, `healthcheck` exits 0
 * when the local server reports SERVING (for container health checks), `statements` prints the
 * SQL of the service's hot paths as JSON (to EXPLAIN them; the benchmarks' raw-SQL ceiling runs them).
 */
export async function runService<Extra extends z.ZodRawShape>(
  definition: ServiceDefinition<Extra>,
  argv: string[] = process.argv.slice(2),
): Promise<void> {
  const command = argv[0] ?? 'serve';
  let config: ServiceConfig<z.infer<z.ZodObject<Extra>>>;
  try {
    config = loadServiceConfig(definition);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${definition.name}: ${error.message}\n`);
    process.exit(2);
  }
  const logger = createLogger(definition.name, config.logLevel);

  switch (command) {
    case 'statements': {
      process.stdout.write(`${JSON.stringify(definition.statements ?? {}, null, 2)}\n`);
      break;
    }
    case 'healthcheck': {
      const host = config.grpcHost === '0.0.0.0' ? '127.0.0.1' : config.grpcHost;
      const status = await checkGrpcHealth(`${host}:${config.grpcPort}`).catch(
        (error: Error) => error.message,
      );
      process.stdout.write(`${status}\n`);
      process.exit(status === 'SERVING' ? 0 : 1);
      break;
    }
    case 'migrate': {
      const deadline = Date.now() + config.startupTimeoutMs;
      try {
        const dataSource = await openDataSource(definition, config, logger, deadline);
        try {
          const applied = await runMigrations(dataSource, { schema: definition.schema, logger });
          if (applied.length === 0) logger.info({ schema: definition.schema }, 'Schema is up to date');
        } finally {
          await dataSource.destroy();
        }
      } catch (error) {
        logger.fatal({ err: error }, 'Migration failed');
        process.exit(1);
      }
      break;
    }
    case 'serve': {
      process.on('unhandledRejection', (reason) =>
        logger.error({ err: reason }, 'Unhandled promise rejection'),
      );
      let service;
      try {
        service = await startService(definition, config, logger);
      } catch (error) {
        logger.fatal({ err: error }, 'Could not start');
        process.exit(1);
      }
      if (tracingConfigured()) {
        const endpoint =
          process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ?? process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
        logger.info({ endpoint, exporter: process.env['OTEL_TRACES_EXPORTER'] ?? 'otlp' }, 'Tracing on');
      }
      const stop = (signal: string) => {
        logger.info({ signal }, 'Shutting down: finishing calls in flight');
        service
          .close()
          .then(() => stopTracing())
          .then(
            () => process.exit(0),
            (error: unknown) => {
              logger.error({ err: error }, 'Shutdown failed');
              process.exit(1);
            },
          );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      break;
    }
    default:
      process.stderr.write(`${definition.name}: unknown command '${command}'; ${USAGE}\n`);
      process.exit(2);
  }
}

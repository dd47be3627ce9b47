import { z } from 'zod';
import { LOG_LEVELS, type LogLevel } from '@chat/grpc';

/** The settings every service reads from its environment (ARCHITECTURE §2). */
export interface ServiceConfig<Extra = Record<string, never>> {
  grpcHost: string;
  grpcPort: number;
  /** Where Prometheus scrapes `/metrics` (0: any free port, for tests). */
  metricsHost: string;
  metricsPort: number;
  databaseUrl: string;
  /** Most PostgreSQL connections the service's pool opens. */
  databasePoolSize: number;
  natsUrl: string;
  natsStream: string;
  natsSubjectPrefix: string;
  /** Replicas of the event streams (3 on a JetStream cluster); applied when a service creates or updates them. */
  natsStreamReplicas: number;
  logLevel: LogLevel;
  /** How often the health monitor probes PostgreSQL and NATS. */
  healthIntervalMs: number;
  /** How long to keep retrying PostgreSQL and NATS at start before giving up. */
  startupTimeoutMs: number;
  /** How long calls in flight may take to finish after SIGTERM. */
  shutdownTimeoutMs: number;
  /** Signs page tokens; the same on every replica of every service. */
  pageTokenSecret: string;
  /** Verification of the gateway's JWTs; off unless a key or secret is set. */
  authentication: { publicKey?: string; secret?: string; issuer?: string; audience?: string };
  extra: Extra;
}

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/chat';
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
/** For development only: set PAGE_TOKEN_SECRET in production, the same for all replicas. */
export const DEFAULT_PAGE_TOKEN_SECRET = 'development-page-token-secret';

/** Raised when the environment is wrong; the message names every bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const milliseconds = (fallback: number) => z.coerce.number().int().min(1).max(3_600_000).default(fallback);

function urlWithScheme(schemes: string[]) {
  return z.string().refine(
    (value) =>
      value.split(',').every((part) => {
        try {
          return schemes.includes(new URL(part.trim()).protocol);
        } catch {
          return false;
        }
      }),
    { message: `must be a URL starting with ${schemes.map((s) => `${s}//`).join(' or ')}` },
  );
}

function baseSchema(defaultPort: number, defaultMetricsPort: number) {
  return {
    GRPC_HOST: z.string().min(1).default('0.0.0.0'),
    GRPC_PORT: z.coerce
      .number({ message: 'must be a port number' })
      .int({ message: 'must be a whole port number' })
      .min(1, { message: 'must be between 1 and 65535' })
      .max(65535, { message: 'must be between 1 and 65535' })
      .default(defaultPort),
    METRICS_HOST: z.string().min(1).optional(),
    METRICS_PORT: z.coerce
      .number({ message: 'must be a port number' })
      .int({ message: 'must be a whole port number' })
      .min(0, { message: 'must be between 0 and 65535' })
      .max(65535, { message: 'must be between 0 and 65535' })
      .default(defaultMetricsPort),
    DATABASE_URL: urlWithScheme(['postgres:', 'postgresql:']).default(DEFAULT_DATABASE_URL),
    DB_POOL_SIZE: z.coerce
      .number({ message: 'must be a number' })
      .int({ message: 'must be a whole number' })
      .min(2, { message: 'must be between 2 and 200' })
      .max(200, { message: 'must be between 2 and 200' })
      .default(10),
    NATS_URL: urlWithScheme(['nats:', 'tls:']).default(DEFAULT_NATS_URL),
    NATS_STREAM: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, { message: 'must contain only letters, digits, _ and -' })
      .default('CHAT'),
    NATS_SUBJECT_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, { message: 'must be dot-separated subject tokens' })
      .default('chat'),
    NATS_STREAM_REPLICAS: z.coerce
      .number({ message: 'must be a number' })
      .int({ message: 'must be a whole number' })
      .min(1, { message: 'must be between 1 and 5' })
      .max(5, { message: 'must be between 1 and 5' })
      .default(1),
    LOG_LEVEL: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    HEALTH_INTERVAL_MS: milliseconds(2_000),
    STARTUP_TIMEOUT_MS: milliseconds(60_000),
    SHUTDOWN_TIMEOUT_MS: milliseconds(10_000),
    PAGE_TOKEN_SECRET: z
      .string()
      .min(16, { message: 'must be at least 16 characters' })
      .default(DEFAULT_PAGE_TOKEN_SECRET),
    JWT_PUBLIC_KEY: z
      .string()
      .refine((value) => value.includes('-----BEGIN PUBLIC KEY-----'), {
        message: 'must be a PEM public key (-----BEGIN PUBLIC KEY-----)',
      })
      .optional(),
    JWT_SECRET: z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
    JWT_ISSUER: z.string().optional(),
    JWT_AUDIENCE: z.string().optional(),
  };
}

export interface ConfigSpec<Extra extends z.ZodRawShape> {
  defaultPort: number;
  /** The Prometheus port when METRICS_PORT is unset (default: the gRPC port less 41,000: 50051 → 9051). */
  defaultMetricsPort?: number;
  /** Service-specific variables, e.g. MESSAGE_SERVICE_URL. */
  extra?: Extra;
}

/**
 * Reads and validates the environment. Empty strings count as unset, so
 * `GRPC_PORT=` falls back to the default rather than failing obscurely.
 */
export function loadConfig<Extra extends z.ZodRawShape = Record<string, never>>(
  env: NodeJS.ProcessEnv,
  spec: ConfigSpec<Extra>,
): ServiceConfig<z.infer<z.ZodObject<Extra>>> {
  const extraShape = (spec.extra ?? {}) as Extra;
  const schema = z.object({
    ...baseSchema(spec.defaultPort, spec.defaultMetricsPort ?? spec.defaultPort - 41_000),
    ...extraShape,
  });
  const input = Object.fromEntries(
    Object.keys(schema.shape).flatMap((key) => {
      const value = env[key];
      return value === undefined || value.trim() === '' ? [] : [[key, value.trim()]];
    }),
  );
  const parsed = schema
    .refine((values: Record<string, unknown>) => !(values['JWT_SECRET'] && values['JWT_PUBLIC_KEY']), {
      message: 'and JWT_PUBLIC_KEY are both set; set one of them',
      path: ['JWT_SECRET'],
    })
    .safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const got = name in input ? ` (got ${JSON.stringify(input[name])})` : '';
      return `${name} ${issue.message}${got}`;
    });
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const values = parsed.data as Record<string, unknown>;
  const extra = Object.fromEntries(Object.keys(extraShape).map((key) => [key, values[key]]));
  return {
    grpcHost: values['GRPC_HOST'] as string,
    grpcPort: values['GRPC_PORT'] as number,
    metricsHost: (values['METRICS_HOST'] as string | undefined) ?? (values['GRPC_HOST'] as string),
    metricsPort: values['METRICS_PORT'] as number,
    databaseUrl: values['DATABASE_URL'] as string,
    databasePoolSize: values['DB_POOL_SIZE'] as number,
    natsUrl: values['NATS_URL'] as string,
    natsStream: values['NATS_STREAM'] as string,
    natsSubjectPrefix: values['NATS_SUBJECT_PREFIX'] as string,
    natsStreamReplicas: values['NATS_STREAM_REPLICAS'] as number,
    logLevel: values['LOG_LEVEL'] as LogLevel,
    healthIntervalMs: values['HEALTH_INTERVAL_MS'] as number,
    startupTimeoutMs: values['STARTUP_TIMEOUT_MS'] as number,
    shutdownTimeoutMs: values['SHUTDOWN_TIMEOUT_MS'] as number,
    pageTokenSecret: values['PAGE_TOKEN_SECRET'] as string,
    authentication: {
      publicKey: (values['JWT_PUBLIC_KEY'] as string | undefined)?.replace(/\\n/g, '\n'),
      secret: values['JWT_SECRET'] as string | undefined,
      issuer: values['JWT_ISSUER'] as string | undefined,
      audience: values['JWT_AUDIENCE'] as string | undefined,
    },
    extra: extra as z.infer<z.ZodObject<Extra>>,
  };
}

/** For service-specific variables: a `host:port` gRPC target. */
export const grpcTarget = (fallback: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/, { message: 'must be host:port' })
    .default(fallback);

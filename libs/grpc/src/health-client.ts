import { credentials, loadPackageDefinition, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';

export type ServingStatusName = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

type HealthClient = Client & {
  check(
    request: { service: string },
    options: { deadline: Date },
    callback: (error: ServiceError | null, response?: { status: ServingStatusName }) => void,
  ): void;
};

/** Asks a server's grpc.health.v1 for a service's status ('' = the server as a whole). */
export async function checkGrpcHealth(
  address: string,
  service = '',
  timeoutMs = 3_000,
): Promise<ServingStatusName> {
  const definition = loadPackageDefinition(loadSync(healthProtoPath, { enums: String }));
  const Health = (
    definition['grpc'] as never as { health: { v1: { Health: new (...args: unknown[]) => HealthClient } } }
  ).health.v1.Health;
  const client = new Health(address, credentials.createInsecure());
  try {
    return await new Promise<ServingStatusName>((resolve, reject) =>
      client.check({ service }, { deadline: new Date(Date.now() + timeoutMs) }, (error, response) =>
        error ? reject(error) : resolve(response?.status ?? 'UNKNOWN'),
      ),
    );
  } finally {
    client.close();
  }
}

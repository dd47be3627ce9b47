import { status } from '@grpc/grpc-js';
import { checkGrpcHealth } from '@chat/grpc';
import type { TestService } from './service-harness';

type HealthClient = { health(request: object): Promise<{ success: boolean }> };

/** The health behaviour every service shares: the Health RPC and grpc.health.v1 agree. */
export function itServesHealth(get: () => TestService<HealthClient>, grpcService: string): void {
  it('answers Health with success while PostgreSQL and NATS answer', async () => {
    await expect(get().client.health({})).resolves.toEqual({ success: true });
  });

  it(`reports SERVING on grpc.health.v1 for the server and for ${grpcService}`, async () => {
    await expect(checkGrpcHealth(get().address, '')).resolves.toBe('SERVING');
    await expect(checkGrpcHealth(get().address, grpcService)).resolves.toBe('SERVING');
  });

  it('answers NOT_FOUND on grpc.health.v1 for a service it does not serve', async () => {
    await expect(checkGrpcHealth(get().address, 'chat.NoSuchService')).rejects.toMatchObject({
      code: status.NOT_FOUND,
    });
  });
}

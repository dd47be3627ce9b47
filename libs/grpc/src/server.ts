import type { Server } from '@grpc/grpc-js';
import { Transport, type GrpcOptions } from '@nestjs/microservices';
import { ReflectionService } from '@grpc/reflection';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { CHAT_PACKAGE, loadChatPackageDefinition } from '@chat/contract';
import type { HealthMonitor } from './health';

export type ChatServiceName = 'ConversationService' | 'MessageService' | 'GroupService';

/**
 * The gRPC server of one chat service, as Nest's gRPC transport options: the contract's package at
 * `address`, grpc.health.v1 answered by `health`, reflection listing both, keepalive for long-lived
 * streams, graceful shutdown. `onServer` receives the grpc-js server (to force its shutdown at a deadline).
 */
export function chatGrpcServerOptions(options: {
  address: string;
  grpcService: ChatServiceName;
  health: HealthMonitor;
  onServer?: (server: Server) => void;
}): GrpcOptions {
  return {
    transport: Transport.GRPC,
    options: {
      url: options.address,
      package: CHAT_PACKAGE,
      packageDefinition: loadChatPackageDefinition(),
      gracefulShutdown: true,
      // Long-lived streams (Subscribe) behind load balancers that drop idle connections: the server
      // pings every 30 s and gives up on a peer that does not answer within 10 s. Clients may ping
      // too, no more often than every 10 s (docs/gateway.md).
      channelOptions: {
        'grpc.keepalive_time_ms': 30_000,
        'grpc.keepalive_timeout_ms': 10_000,
        'grpc.keepalive_permit_without_calls': 1,
        'grpc.http2.min_ping_interval_without_data_ms': 10_000,
      },
      onLoadPackageDefinition: (_pkg: unknown, server: Server) => {
        options.onServer?.(server);
        options.health.addToServer(server);
        // Reflection lists what this process serves: its chat service and grpc.health.v1.
        new ReflectionService(loadChatPackageDefinition([healthProtoPath]), {
          services: [`${CHAT_PACKAGE}.${options.grpcService}`, 'grpc.health.v1.Health'],
        }).addToServer(server);
      },
    },
  };
}

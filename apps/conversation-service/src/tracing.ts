// Imported first by main.ts: OpenTelemetry must hook @grpc/grpc-js and pg before anything loads them.
import { startTracing } from '@chat/service-runtime/tracing';

startTracing('conversation-service');

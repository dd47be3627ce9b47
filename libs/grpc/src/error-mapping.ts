import { randomUUID } from 'node:crypto';
import { Metadata, status } from '@grpc/grpc-js';
import { Catch, type ArgumentsHost, type RpcExceptionFilter } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { throwError, type Observable } from 'rxjs';
import { DomainError, ErrorKind } from '@chat/domain';
import { describeError, OutageLog } from '@chat/messaging';
import { mapDatabaseError } from '@chat/persistence';
import type { Logger } from './logger';

const STATUS_BY_KIND: Record<ErrorKind, status> = {
  [ErrorKind.InvalidArgument]: status.INVALID_ARGUMENT,
  [ErrorKind.FailedPrecondition]: status.FAILED_PRECONDITION,
  [ErrorKind.NotFound]: status.NOT_FOUND,
  [ErrorKind.AlreadyExists]: status.ALREADY_EXISTS,
  [ErrorKind.PermissionDenied]: status.PERMISSION_DENIED,
  [ErrorKind.Unauthenticated]: status.UNAUTHENTICATED,
  [ErrorKind.Unavailable]: status.UNAVAILABLE,
  [ErrorKind.ResourceExhausted]: status.RESOURCE_EXHAUSTED,
  [ErrorKind.Unimplemented]: status.UNIMPLEMENTED,
};

/** Trailing metadata keys clients can read for the stable error code and the request id. */
export const ERROR_CODE_METADATA_KEY = 'error-code';
export const REQUEST_ID_METADATA_KEY = 'request-id';

/** What grpc-js sends for a failed call. */
export interface GrpcError {
  code: status;
  message: string;
  details: string;
  metadata: Metadata;
}

function isGrpcStatus(value: unknown): value is status {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= 16;
}

function grpcError(code: status, message: string, metadata: Metadata): GrpcError {
  return { code, message, details: message, metadata };
}

export function requestIdOf(metadata: unknown): string {
  if (metadata instanceof Metadata) {
    const [given] = metadata.get('x-request-id');
    if (typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given)) return given;
  }
  return randomUUID();
}

/**
 * The one mapping from anything a handler throws to a gRPC status. Domain errors
 * keep their kind and message and carry their stable code in trailing metadata;
 * PostgreSQL errors are translated where possible; everything else becomes
 * INTERNAL with a generic message and is logged with the request id.
 */
export function toGrpcError(
  error: unknown,
  logger: Logger,
  requestId: string = randomUUID(),
  outage?: OutageLog,
): GrpcError {
  const metadata = new Metadata();
  metadata.set(REQUEST_ID_METADATA_KEY, requestId);
  const mapped = mapDatabaseError(error);
  if (mapped instanceof DomainError) {
    metadata.set(ERROR_CODE_METADATA_KEY, mapped.code);
    // A dependency down fails every call: one warning when it starts and a bounded few while it lasts
    // (`OutageLog`), the calls themselves at debug. Never the driver's error object (it carries the
    // connection's settings): its message only.
    if (mapped.kind === ErrorKind.Unavailable && outage)
      outage.report(mapped.cause ?? mapped, { code: mapped.code });
    logger.debug(
      { requestId, code: mapped.code, ...(mapped.cause ? { cause: describeError(mapped.cause) } : {}) },
      mapped.message,
    );
    return grpcError(STATUS_BY_KIND[mapped.kind], mapped.message, metadata);
  }
  if (error instanceof RpcException) {
    const payload = error.getError();
    if (
      typeof payload === 'object' &&
      payload !== null &&
      isGrpcStatus((payload as { code?: unknown }).code)
    ) {
      const { code, message } = payload as { code: status; message?: unknown };
      if (code !== status.UNKNOWN && code !== status.INTERNAL) {
        return grpcError(code, typeof message === 'string' ? message : status[code], metadata);
      }
    }
  }
  logger.error({ requestId, err: error }, 'Unhandled error while serving a call');
  return grpcError(
    status.INTERNAL,
    `Internal error; quote request id ${requestId} when reporting it`,
    metadata,
  );
}

/** The status code name (`NOT_FOUND`, `INTERNAL`, …) a thrown error reaches the client with, as `toGrpcError` maps it. */
export function statusOf(error: unknown): string {
  const mapped = mapDatabaseError(error);
  if (mapped instanceof DomainError) return status[STATUS_BY_KIND[mapped.kind]];
  if (error instanceof RpcException) {
    const code = (error.getError() as { code?: unknown })?.code;
    if (isGrpcStatus(code) && code !== status.UNKNOWN) return status[code];
  }
  return status[status.INTERNAL];
}

/** Registered globally so that it runs for every gRPC handler (proved by a test). */
@Catch()
export class GrpcErrorFilter implements RpcExceptionFilter<unknown> {
  private readonly outage: OutageLog;

  constructor(private readonly logger: Logger) {
    this.outage = new OutageLog(logger, 'A dependency (calls answered UNAVAILABLE)', 10_000, 30_000);
  }

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    const requestId = requestIdOf(host.switchToRpc().getContext());
    const error = toGrpcError(exception, this.logger, requestId, this.outage);
    return throwError(() => error);
  }
}

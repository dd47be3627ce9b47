import { Metadata, status, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import {
  createMessageClient,
  type GetConversation,
  type MessageClient,
  type MessageList,
} from '@chat/contract';
import { ConversationErrorCode, DomainError, ErrorKind } from '@chat/domain';
import { ERROR_CODE_METADATA_KEY } from '@chat/grpc';
import { SERVICE_CONFIG } from '@chat/service-runtime';
import type { ConversationConfig } from '../conversation-config';

/** What a call to message-service carries over from the call being served. */
export interface ForwardedCall {
  /** Metadata passed on as is: the caller's identity and request id. */
  metadata: Record<string, string>;
  /** The served call's own deadline (epoch ms), when it has one. */
  deadline?: number;
}

const FORWARDED_METADATA = ['authorization', 'x-request-id'];

/** The metadata and deadline of a served gRPC call that a call to message-service inherits. */
export function forwardedCall(
  metadata?: Metadata,
  call?: Pick<ServerUnaryCall<unknown, unknown>, 'getDeadline'>,
): ForwardedCall {
  const forwarded: Record<string, string> = {};
  for (const key of FORWARDED_METADATA) {
    const [value] = metadata instanceof Metadata ? metadata.get(key) : [];
    if (typeof value === 'string') forwarded[key] = value;
  }
  const deadline = call?.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return { metadata: forwarded, deadline: ms !== undefined && Number.isFinite(ms) ? ms : undefined };
}

/** message-service's errors that concern the request, passed on with the same status and message. */
const PASSED_THROUGH: Partial<Record<status, ErrorKind>> = {
  [status.INVALID_ARGUMENT]: ErrorKind.InvalidArgument,
  [status.NOT_FOUND]: ErrorKind.NotFound,
  [status.PERMISSION_DENIED]: ErrorKind.PermissionDenied,
  [status.FAILED_PRECONDITION]: ErrorKind.FailedPrecondition,
  [status.UNAUTHENTICATED]: ErrorKind.Unauthenticated,
  [status.UNIMPLEMENTED]: ErrorKind.Unimplemented,
};

function isServiceError(error: unknown): error is ServiceError {
  return typeof error === 'object' && error !== null && typeof (error as ServiceError).code === 'number';
}

/**
 * What a failed MessageService call becomes. Its verdicts on the request (NOT_FOUND,
 * PERMISSION_DENIED, INVALID_ARGUMENT, …) pass through with their message and error code;
 * everything else (down, no answer before the deadline, its own failure) is UNAVAILABLE
 * with a message that names message-service and nothing internal: the cause is logged.
 */
export function messageServiceError(error: unknown, timeoutMs: number): DomainError {
  if (isServiceError(error)) {
    const kind = PASSED_THROUGH[error.code as status];
    if (kind !== undefined) {
      const [code] = error.metadata?.get(ERROR_CODE_METADATA_KEY) ?? [];
      return new DomainError(
        kind,
        typeof code === 'string' ? code : `MESSAGE_SERVICE.${status[error.code]}`,
        error.details || status[error.code] || 'message-service refused the request',
        { cause: error },
      );
    }
    if (error.code === status.DEADLINE_EXCEEDED) {
      return DomainError.unavailable(
        ConversationErrorCode.MessageServiceUnavailable,
        `message-service did not answer within ${timeoutMs} ms; try again`,
        { cause: error },
      );
    }
    if (error.code !== status.UNAVAILABLE) {
      return DomainError.unavailable(
        ConversationErrorCode.MessageServiceUnavailable,
        'message-service failed to answer; try again',
        { cause: error },
      );
    }
  }
  return DomainError.unavailable(
    ConversationErrorCode.MessageServiceUnavailable,
    'message-service is unavailable; try again',
    { cause: error },
  );
}

/** MessageService over gRPC (MESSAGE_SERVICE_URL), each call with a deadline (MESSAGE_SERVICE_TIMEOUT_MS). */
@Injectable()
export class MessageHistory implements OnModuleDestroy {
  private readonly client: MessageClient;
  private readonly timeoutMs: number;

  constructor(@Inject(SERVICE_CONFIG) config: ConversationConfig) {
    this.timeoutMs = config.extra.MESSAGE_SERVICE_TIMEOUT_MS;
    // grpc-js connects lazily and reconnects by itself: message-service may start later.
    this.client = createMessageClient(config.extra.MESSAGE_SERVICE_URL, { timeoutMs: this.timeoutMs });
  }

  /** MessageService.List: a page of the conversation's history, newest first. */
  async list(request: GetConversation, call: ForwardedCall): Promise<MessageList> {
    const remaining = call.deadline === undefined ? Infinity : call.deadline - Date.now();
    const timeoutMs = Math.max(1, Math.min(this.timeoutMs, remaining));
    try {
      return await this.client.list(request, { metadata: call.metadata, timeoutMs });
    } catch (error) {
      throw messageServiceError(error, timeoutMs);
    }
  }

  onModuleDestroy(): void {
    this.client.close();
  }
}

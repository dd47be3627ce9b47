import {
  loadPackageDefinition,
  Metadata,
  Server,
  ServerCredentials,
  type status,
  type GrpcObject,
  type ServerUnaryCall,
  type ServiceClientConstructor,
  type ServiceError,
  type sendUnaryData,
} from '@grpc/grpc-js';
import {
  CHAT_PACKAGE,
  loadChatPackageDefinition,
  type GetConversation,
  type MessageList,
} from '@chat/contract';

export interface ReceivedCall {
  request: GetConversation;
  metadata: Metadata;
  /** Milliseconds left before the call's deadline when it arrived. */
  timeLeftMs: number;
}

/** What the stand-in answers: a page, a gRPC error, or nothing at all (the call runs into its deadline). */
export type Answer =
  { page: MessageList } | { error: { code: status; details: string; errorCode?: string } } | 'no answer';

/**
 * A stand-in for message-service's MessageService.List, to prove how conversation-service
 * calls it (request, metadata, deadline) and what it makes of each kind of answer. The
 * real message-service is used by the system tests.
 */
export class StandInMessageService {
  readonly calls: ReceivedCall[] = [];
  answer: Answer = { page: { messages: [], nextPageToken: '' } };

  /** host:port it listens on. */
  address = '';
  private readonly server = new Server();

  private constructor() {
    const chat = loadPackageDefinition(loadChatPackageDefinition())[CHAT_PACKAGE] as GrpcObject;
    const definition = (chat['MessageService'] as ServiceClientConstructor).service;
    // Only List: grpc-js answers the other methods UNIMPLEMENTED.
    this.server.addService(definition, { list: this.list.bind(this) });
  }

  static async start(): Promise<StandInMessageService> {
    const standIn = new StandInMessageService();
    const port = await new Promise<number>((resolve, reject) =>
      standIn.server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    standIn.address = `127.0.0.1:${port}`;
    return standIn;
  }

  async close(): Promise<void> {
    this.server.forceShutdown();
  }

  private list(
    call: ServerUnaryCall<GetConversation, MessageList>,
    callback: sendUnaryData<MessageList>,
  ): void {
    const deadline = call.getDeadline();
    const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
    this.calls.push({ request: call.request, metadata: call.metadata, timeLeftMs: deadlineMs - Date.now() });
    const answer = this.answer;
    if (answer === 'no answer') return;
    if ('page' in answer) {
      callback(null, answer.page);
      return;
    }
    const metadata = new Metadata();
    if (answer.error.errorCode) metadata.set('error-code', answer.error.errorCode);
    const error: Partial<ServiceError> = { code: answer.error.code, details: answer.error.details, metadata };
    callback(error);
  }
}

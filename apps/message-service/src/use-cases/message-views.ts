import { DomainError } from '@chat/domain';
import type { MessageRow } from '../persistence/message-repository';

export type MessageView = MessageRow;

export const messageNotFound = () =>
  DomainError.notFound('MESSAGE.NOT_FOUND', 'There is no message with that id');

export const messageDeleted = () =>
  DomainError.failedPrecondition('MESSAGE.DELETED', 'That message was deleted');

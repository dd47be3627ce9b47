import type { EventMember } from '@chat/contract';
import { Role } from '@chat/domain';
import type { GroupRow, ParticipantRow } from '../persistence/group-repository';

/** A group as use cases return it; the controller maps it to ConversationData. */
export type GroupView = GroupRow;

export type ParticipantView = ParticipantRow;

export const eventMember = (participant: ParticipantRow): EventMember => ({
  userId: participant.userId,
  role: participant.role,
  participantId: participant.id,
  joinedAt: participant.joinedAt.toISOString(),
});

export const isAdminRole = (role: Role): boolean => role === Role.Admin || role === Role.Owner;

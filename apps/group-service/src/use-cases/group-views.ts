import type { EventMember } from '@chat/contract';
import { Role } from '@chat/domain';
import type { GroupRow, ParticipantRow } from '../persistence/group-repository';

/** A group as use cases return it; the controller maps it to ConversationData. */
export interface GroupView {
  id: string;
  name: string;
  creatorId: string;
  ownerId: string;
  memberCount: number;
  createdAt: Date;
  updatedAt: Date;
}

export type ParticipantView = ParticipantRow;

export const groupView = (row: GroupRow): GroupView => ({ ...row });

export const eventMember = (participant: ParticipantRow): EventMember => ({
  userId: participant.userId,
  role: participant.role,
  participantId: participant.id,
  joinedAt: participant.joinedAt.toISOString(),
});

export const isAdminRole = (role: Role): boolean => role === Role.Admin || role === Role.Owner;

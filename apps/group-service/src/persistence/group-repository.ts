import type { EntityManager } from 'typeorm';
import { DomainError, GroupErrorCode, type Role } from '@chat/domain';

export interface GroupRow {
  id: string;
  name: string;
  creatorId: string;
  ownerId: string;
  memberCount: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface ParticipantRow {
  id: string;
  groupId: string;
  userId: string;
  role: Role;
  joinedAt: Date;
  updatedAt: Date;
}

interface RawGroup {
  id: string;
  name: string;
  creator_id: string;
  owner_id: string;
  member_count: number;
  created_at: Date;
  updated_at: Date;
}

interface RawParticipant {
  id: string;
  group_id: string;
  user_id: string;
  role: Role;
  joined_at: Date;
  updated_at: Date;
}

/** A participant's key: its id within its group. */
type ParticipantKey = Pick<ParticipantRow, 'groupId' | 'id'>;

const GROUP_COLUMNS = 'id, name, creator_id, owner_id, member_count, created_at, updated_at';
const PARTICIPANT_COLUMNS = 'id, group_id, user_id, role, joined_at, updated_at';

const toGroup = (row: RawGroup): GroupRow => ({
  id: row.id,
  name: row.name,
  creatorId: row.creator_id,
  ownerId: row.owner_id,
  memberCount: row.member_count,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const toParticipant = (row: RawParticipant): ParticipantRow => ({
  id: row.id,
  groupId: row.group_id,
  userId: row.user_id,
  role: row.role,
  joinedAt: row.joined_at,
  updatedAt: row.updated_at,
});

export const groupNotFound = () =>
  DomainError.notFound(GroupErrorCode.GroupNotFound, 'There is no group with that id');

/** SQL for groups and participants; every function runs in the caller's transaction. */
export const groupRepository = {
  async insertGroup(
    manager: EntityManager,
    group: { name: string; creatorId: string; memberCount: number },
  ): Promise<GroupRow> {
    const [row] = (await manager.query(
      `INSERT INTO groups (name, creator_id, owner_id, member_count) VALUES ($1, $2, $2, $3) RETURNING ${GROUP_COLUMNS}`,
      [group.name, group.creatorId, group.memberCount],
    )) as RawGroup[];
    return toGroup(row!);
  },

  /** Inserts participants that are not there yet, in order; returns those inserted. */
  async insertParticipants(
    manager: EntityManager,
    groupId: string,
    members: Array<{ userId: string; role: Role }>,
  ): Promise<ParticipantRow[]> {
    if (members.length === 0) return [];
    const rows = (await manager.query(
      `INSERT INTO participants (group_id, user_id, role)
       SELECT $1, m.user_id, m.role FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS m(user_id, role, n)
       ORDER BY m.n
       ON CONFLICT (group_id, user_id) DO NOTHING
       RETURNING ${PARTICIPANT_COLUMNS}`,
      [groupId, members.map((m) => m.userId), members.map((m) => m.role)],
    )) as RawParticipant[];
    return rows.map(toParticipant);
  },

  /** The group, locked for the rest of the transaction: changes to one group happen one at a time. */
  async lockGroup(manager: EntityManager, groupId: string): Promise<GroupRow> {
    const [row] = (await manager.query(`SELECT ${GROUP_COLUMNS} FROM groups WHERE id = $1 FOR UPDATE`, [
      groupId,
    ])) as RawGroup[];
    if (!row) throw groupNotFound();
    return toGroup(row);
  },

  async participants(manager: EntityManager, groupId: string): Promise<ParticipantRow[]> {
    const rows = (await manager.query(
      `SELECT ${PARTICIPANT_COLUMNS} FROM participants WHERE group_id = $1 ORDER BY joined_at, user_id`,
      [groupId],
    )) as RawParticipant[];
    return rows.map(toParticipant);
  },

  async participantByUser(
    manager: EntityManager,
    groupId: string,
    userId: string,
  ): Promise<ParticipantRow | null> {
    const [row] = (await manager.query(
      `SELECT ${PARTICIPANT_COLUMNS} FROM participants WHERE group_id = $1 AND user_id = $2`,
      [groupId, userId],
    )) as RawParticipant[];
    return row ? toParticipant(row) : null;
  },

  /** A participant of this group only: an id from another group resolves to null. */
  async participantById(
    manager: EntityManager,
    groupId: string,
    participantId: string,
  ): Promise<ParticipantRow | null> {
    const [row] = (await manager.query(
      `SELECT ${PARTICIPANT_COLUMNS} FROM participants WHERE group_id = $1 AND id = $2`,
      [groupId, participantId],
    )) as RawParticipant[];
    return row ? toParticipant(row) : null;
  },

  async setRole(manager: EntityManager, participant: ParticipantKey, role: Role): Promise<void> {
    await manager.query(
      `UPDATE participants SET role = $3, updated_at = clock_timestamp() WHERE group_id = $1 AND id = $2`,
      [participant.groupId, participant.id, role],
    );
  },

  async deleteParticipant(manager: EntityManager, participant: ParticipantKey): Promise<void> {
    await manager.query(`DELETE FROM participants WHERE group_id = $1 AND id = $2`, [
      participant.groupId,
      participant.id,
    ]);
  },

  async updateGroup(
    manager: EntityManager,
    groupId: string,
    changes: { name?: string; ownerId?: string; memberCountDelta?: number },
  ): Promise<GroupRow> {
    // TypeORM answers an UPDATE … RETURNING with [rows, affected].
    const [rows] = (await manager.query(
      `UPDATE groups SET
         name = COALESCE($2, name),
         owner_id = COALESCE($3, owner_id),
         member_count = member_count + $4,
         updated_at = now()
       WHERE id = $1 RETURNING ${GROUP_COLUMNS}`,
      [groupId, changes.name ?? null, changes.ownerId ?? null, changes.memberCountDelta ?? 0],
    )) as [RawGroup[], number];
    return toGroup(rows[0]!);
  },

  async deleteGroup(manager: EntityManager, groupId: string): Promise<void> {
    await manager.query(`DELETE FROM groups WHERE id = $1`, [groupId]);
  },
};

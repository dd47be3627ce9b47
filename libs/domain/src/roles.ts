import { DomainError } from './domain-error';
import { RequestErrorCode } from './error-codes';

/** A participant's role in a group. The string values are what the database stores. */
export enum Role {
  Member = 'member',
  Admin = 'admin',
  Owner = 'owner',
}

/** Every role, lowest rank first. */
export const ROLES: readonly Role[] = Object.freeze([Role.Member, Role.Admin, Role.Owner]);

const RANK: Readonly<Record<Role, number>> = { [Role.Member]: 1, [Role.Admin]: 2, [Role.Owner]: 3 };

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(RANK, value);
}

/** owner (3) > admin (2) > member (1). */
export function roleRank(role: Role): number {
  return RANK[role];
}

/** Whether `actor` ranks strictly above `target` (equal roles do not outrank each other). */
export function outranks(actor: Role, target: Role): boolean {
  return RANK[actor] > RANK[target];
}

/** Admins and the owner: what `ParticipantData.is_admin` reports. */
export function isAdminOrOwner(role: Role): boolean {
  return RANK[role] >= RANK[Role.Admin];
}

/**
 * The numbers of `enum Role` in protos/chat.proto, defined here so that the domain does
 * not depend on the contract lib.
 */
export enum ProtoRole {
  ROLE_UNSPECIFIED = 0,
  ROLE_MEMBER = 1,
  ROLE_ADMIN = 2,
  ROLE_OWNER = 3,
}

const PROTO_BY_ROLE: Readonly<Record<Role, ProtoRole>> = {
  [Role.Member]: ProtoRole.ROLE_MEMBER,
  [Role.Admin]: ProtoRole.ROLE_ADMIN,
  [Role.Owner]: ProtoRole.ROLE_OWNER,
};

const ROLE_BY_PROTO: ReadonlyMap<number | string, Role> = new Map<number | string, Role>([
  [ProtoRole.ROLE_MEMBER, Role.Member],
  [ProtoRole.ROLE_ADMIN, Role.Admin],
  [ProtoRole.ROLE_OWNER, Role.Owner],
  ['ROLE_MEMBER', Role.Member],
  ['ROLE_ADMIN', Role.Admin],
  ['ROLE_OWNER', Role.Owner],
]);

export function toProtoRole(role: Role): ProtoRole {
  return PROTO_BY_ROLE[role];
}

/**
 * The domain role of a proto `Role`, given as its number or (proto-loader with
 * `enums: String`) its name. ROLE_UNSPECIFIED and unknown values throw InvalidArgument
 * `REQUEST.INVALID_ROLE`: there is no participant without a role.
 */
export function fromProtoRole(value: number | string, field = 'role'): Role {
  const role = ROLE_BY_PROTO.get(value);
  if (role === undefined) {
    throw DomainError.invalidArgument(
      RequestErrorCode.InvalidRole,
      `${field} must be ROLE_MEMBER, ROLE_ADMIN or ROLE_OWNER`,
      { details: { field } },
    );
  }
  return role;
}

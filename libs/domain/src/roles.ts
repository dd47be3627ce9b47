/** A participant's role in a group. The string values are what the database stores. */
export enum Role {
  Member = 'member',
  Admin = 'admin',
  Owner = 'owner',
}

/** Every role, lowest rank first. */
export const ROLES: readonly Role[] = Object.freeze([Role.Member, Role.Admin, Role.Owner]);

const RANK: Readonly<Record<Role, number>> = { [Role.Member]: 1, [Role.Admin]: 2, [Role.Owner]: 3 };

/** owner (3) > admin (2) > member (1). */
export function roleRank(role: Role): number {
  return RANK[role];
}

/** Whether `actor` ranks strictly above `target` (equal roles do not outrank each other). */
export function outranks(actor: Role, target: Role): boolean {
  return RANK[actor] > RANK[target];
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

export function toProtoRole(role: Role): ProtoRole {
  return PROTO_BY_ROLE[role];
}

import { catchDomainError } from '../test/catch-domain-error';
import { ErrorKind } from './domain-error';
import {
  ProtoRole,
  ROLES,
  Role,
  fromProtoRole,
  isAdminOrOwner,
  isRole,
  outranks,
  roleRank,
  toProtoRole,
} from './roles';

describe('Role', () => {
  it('stores the lower-case names in the database', () => {
    expect([Role.Member, Role.Admin, Role.Owner]).toEqual(['member', 'admin', 'owner']);
  });

  it('lists every role lowest rank first', () => {
    expect(ROLES).toEqual([Role.Member, Role.Admin, Role.Owner]);
    expect(Object.isFrozen(ROLES)).toBe(true);
  });

  it('ranks owner above admin above member', () => {
    expect(roleRank(Role.Owner)).toBeGreaterThan(roleRank(Role.Admin));
    expect(roleRank(Role.Admin)).toBeGreaterThan(roleRank(Role.Member));
  });

  it.each([
    [Role.Owner, Role.Admin, true],
    [Role.Owner, Role.Member, true],
    [Role.Admin, Role.Member, true],
    [Role.Owner, Role.Owner, false],
    [Role.Admin, Role.Admin, false],
    [Role.Member, Role.Member, false],
    [Role.Admin, Role.Owner, false],
    [Role.Member, Role.Admin, false],
    [Role.Member, Role.Owner, false],
  ])('says whether %s outranks %s: %s', (actor, target, expected) => {
    expect(outranks(actor, target)).toBe(expected);
  });

  it('recognises only the stored role names', () => {
    expect(ROLES.every(isRole)).toBe(true);
    for (const value of ['Owner', 'ADMIN', '', 'superuser', 'toString', 'constructor', 2, null, undefined]) {
      expect(isRole(value)).toBe(false);
    }
  });

  it('counts admins and the owner as admins (ParticipantData.is_admin)', () => {
    expect(isAdminOrOwner(Role.Owner)).toBe(true);
    expect(isAdminOrOwner(Role.Admin)).toBe(true);
    expect(isAdminOrOwner(Role.Member)).toBe(false);
  });
});

describe('proto role mapping', () => {
  it('uses the numbers of protos/chat.proto', () => {
    expect(ProtoRole.ROLE_UNSPECIFIED).toBe(0);
    expect(toProtoRole(Role.Member)).toBe(1);
    expect(toProtoRole(Role.Admin)).toBe(2);
    expect(toProtoRole(Role.Owner)).toBe(3);
  });

  it('maps numbers and enum names back to roles', () => {
    expect(fromProtoRole(1)).toBe(Role.Member);
    expect(fromProtoRole(2)).toBe(Role.Admin);
    expect(fromProtoRole(3)).toBe(Role.Owner);
    expect(fromProtoRole('ROLE_MEMBER')).toBe(Role.Member);
    expect(fromProtoRole('ROLE_ADMIN')).toBe(Role.Admin);
    expect(fromProtoRole('ROLE_OWNER')).toBe(Role.Owner);
  });

  it('round-trips every role', () => {
    for (const role of ROLES) expect(fromProtoRole(toProtoRole(role))).toBe(role);
  });

  it.each([0, 'ROLE_UNSPECIFIED', 4, -1, 1.5, 'member', '1'])('rejects %p as a role', (value) => {
    const error = catchDomainError(() => fromProtoRole(value, 'participant.role'));
    expect(error).toMatchObject({
      kind: ErrorKind.InvalidArgument,
      code: 'REQUEST.INVALID_ROLE',
      details: { field: 'participant.role' },
    });
    expect(error.message).toMatch(/^participant\.role must be/);
  });
});

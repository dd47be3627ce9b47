import { ProtoRole, ROLES, Role, outranks, roleRank, toProtoRole } from './roles';

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
});

describe('proto role mapping', () => {
  it('uses the numbers of protos/chat.proto', () => {
    expect(ProtoRole.ROLE_UNSPECIFIED).toBe(0);
    expect(toProtoRole(Role.Member)).toBe(1);
    expect(toProtoRole(Role.Admin)).toBe(2);
    expect(toProtoRole(Role.Owner)).toBe(3);
  });
});

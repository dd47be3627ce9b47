import { DEFAULT_LIMITS, DEFAULT_PAGE_SIZE, USER_ID_MAX_LENGTH, defineLimits } from './limits';

describe('limits', () => {
  it('defaults to the limits of the architecture', () => {
    expect(DEFAULT_LIMITS).toEqual({
      textMaxLength: 4096,
      groupNameMaxLength: 100,
      addMembersMax: 100,
      groupMaxMembers: 1000,
    });
    expect(DEFAULT_PAGE_SIZE).toEqual({ default: 50, max: 200 });
    expect(USER_ID_MAX_LENGTH).toBe(128);
  });

  it('cannot be changed at run time by accident', () => {
    expect(Object.isFrozen(DEFAULT_LIMITS)).toBe(true);
    expect(Object.isFrozen(DEFAULT_PAGE_SIZE)).toBe(true);
  });

  it('applies overrides and keeps the defaults for the rest', () => {
    expect(defineLimits({ textMaxLength: 2000, groupMaxMembers: undefined })).toEqual({
      ...DEFAULT_LIMITS,
      textMaxLength: 2000,
    });
    expect(defineLimits()).toEqual(DEFAULT_LIMITS);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects %p as a limit, naming it', (value) => {
    expect(() => defineLimits({ addMembersMax: value })).toThrow(
      new RangeError(`limits.addMembersMax must be a positive whole number, got ${String(value)}`),
    );
  });
});

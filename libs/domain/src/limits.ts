/** The configurable size limits of ARCHITECTURE §3; services pass theirs to the validators. */
export interface DomainLimits {
  /** Message text, in Unicode code points after trimming. */
  readonly textMaxLength: number;
  /** Group name, in Unicode code points after trimming. */
  readonly groupNameMaxLength: number;
  /** User ids in one AddMembers call. */
  readonly addMembersMax: number;
  /** Participants of one group, the owner included. */
  readonly groupMaxMembers: number;
}

export const DEFAULT_LIMITS: DomainLimits = Object.freeze({
  textMaxLength: 4096,
  groupNameMaxLength: 100,
  addMembersMax: 100,
  groupMaxMembers: 1000,
});

/**
 * DEFAULT_LIMITS with `overrides` applied (undefined values keep the default), for a
 * service reading its configuration. Throws a RangeError naming the setting when a value
 * is not a positive whole number: that is a start-up error, not a request error.
 */
export function defineLimits(
  overrides: Partial<Record<keyof DomainLimits, number | undefined>> = {},
): DomainLimits {
  const limits: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof DomainLimits)[]) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`limits.${key} must be a positive whole number, got ${String(value)}`);
    }
    limits[key] = value;
  }
  return Object.freeze(limits as unknown as DomainLimits);
}

/** User ids are 1–128 characters (code points): not configurable, it sizes database columns. */
export const USER_ID_MAX_LENGTH = 128;

/** Page sizes for list RPCs (Google AIP-158). */
export interface PageSizeOptions {
  /** Used when the request leaves `page_size` unset (0). */
  readonly default: number;
  /** Larger requests are clamped to it. */
  readonly max: number;
}

export const DEFAULT_PAGE_SIZE: PageSizeOptions = Object.freeze({ default: 50, max: 200 });

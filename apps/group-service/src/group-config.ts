import { z } from 'zod';
import { defineLimits, type DomainLimits } from '@chat/domain';

/** Injection token for the group size limits (ARCHITECTURE §3, configurable). */
export const GROUP_LIMITS = Symbol('GROUP_LIMITS');

const positive = z.coerce.number().int().min(1).optional();

/** Environment variables that override the default limits. */
export const groupConfig = {
  GROUP_MAX_MEMBERS: positive,
  ADD_MEMBERS_MAX: positive,
  GROUP_NAME_MAX_LENGTH: positive,
};

export function groupLimitsFrom(extra: {
  GROUP_MAX_MEMBERS?: number;
  ADD_MEMBERS_MAX?: number;
  GROUP_NAME_MAX_LENGTH?: number;
}): DomainLimits {
  return defineLimits({
    groupMaxMembers: extra.GROUP_MAX_MEMBERS,
    addMembersMax: extra.ADD_MEMBERS_MAX,
    groupNameMaxLength: extra.GROUP_NAME_MAX_LENGTH,
  });
}

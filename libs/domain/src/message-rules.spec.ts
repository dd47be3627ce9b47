import { DomainError } from './domain-error';
import { authorizeMessage, MessageAction, MessageOutcome, type Standing } from './message-rules';
import { Role } from './roles';

const groupAs = (role: Role | null): Standing => ({ conversation: 'live', kind: 'group', role });
const direct: Standing = { conversation: 'live', kind: 'direct', role: Role.Member };
const outsider: Standing = { conversation: 'live', kind: 'direct', role: null };
const own = { senderId: 'ann', deleted: false };
const others = { senderId: 'bob', deleted: false };
const deletedOwn = { senderId: 'ann', deleted: true };

function outcomeOf(...args: Parameters<typeof authorizeMessage>): string {
  try {
    return authorizeMessage(...args);
  } catch (error) {
    return error instanceof DomainError ? `${error.kind} ${error.code}` : `bug: ${(error as Error).message}`;
  }
}

/** Every case written out by hand from ARCHITECTURE §3, not derived from the code under test. */
const CASES: Array<
  [string, MessageAction, Standing, { senderId: string; deleted: boolean } | undefined, string]
> = [
  ['a member reads the history', MessageAction.Read, groupAs(Role.Member), undefined, MessageOutcome.Apply],
  [
    'an outsider reads the history',
    MessageAction.Read,
    outsider,
    undefined,
    'PERMISSION_DENIED CONVERSATION.NOT_A_MEMBER',
  ],
  [
    'anyone reads a deleted conversation',
    MessageAction.Read,
    { conversation: 'deleted' },
    undefined,
    'NOT_FOUND CONVERSATION.NOT_FOUND',
  ],
  ['a member sends', MessageAction.Send, groupAs(Role.Member), undefined, MessageOutcome.Apply],
  ['a direct chat user sends', MessageAction.Send, direct, undefined, MessageOutcome.Apply],
  [
    'an outsider sends',
    MessageAction.Send,
    outsider,
    undefined,
    'PERMISSION_DENIED CONVERSATION.NOT_A_MEMBER',
  ],
  [
    'anyone sends to an unknown conversation',
    MessageAction.Send,
    { conversation: 'unknown' },
    undefined,
    'NOT_FOUND CONVERSATION.NOT_FOUND',
  ],
  [
    'anyone sends to a deleted conversation',
    MessageAction.Send,
    { conversation: 'deleted' },
    undefined,
    'NOT_FOUND CONVERSATION.NOT_FOUND',
  ],
  [
    'a member replies to a live message',
    MessageAction.Reply,
    groupAs(Role.Member),
    others,
    MessageOutcome.Apply,
  ],
  [
    'a member replies to a deleted message',
    MessageAction.Reply,
    groupAs(Role.Member),
    deletedOwn,
    'FAILED_PRECONDITION MESSAGE.DELETED',
  ],
  [
    'an outsider replies',
    MessageAction.Reply,
    groupAs(null),
    others,
    'PERMISSION_DENIED CONVERSATION.NOT_A_MEMBER',
  ],
  ['the sender edits', MessageAction.Edit, groupAs(Role.Member), own, MessageOutcome.Apply],
  [
    'the owner edits another’s message',
    MessageAction.Edit,
    groupAs(Role.Owner),
    others,
    'PERMISSION_DENIED MESSAGE.NOT_SENDER',
  ],
  [
    'the sender edits a deleted message',
    MessageAction.Edit,
    groupAs(Role.Member),
    deletedOwn,
    'FAILED_PRECONDITION MESSAGE.DELETED',
  ],
  [
    'a former member edits their message',
    MessageAction.Edit,
    groupAs(null),
    own,
    'PERMISSION_DENIED CONVERSATION.NOT_A_MEMBER',
  ],
  ['the sender deletes', MessageAction.Delete, groupAs(Role.Member), own, MessageOutcome.Apply],
  [
    'the sender deletes a deleted message again',
    MessageAction.Delete,
    groupAs(Role.Member),
    deletedOwn,
    MessageOutcome.NoOp,
  ],
  [
    'a member deletes another’s message',
    MessageAction.Delete,
    groupAs(Role.Member),
    others,
    'PERMISSION_DENIED MESSAGE.NOT_ALLOWED_TO_DELETE',
  ],
  [
    'an admin deletes another’s message',
    MessageAction.Delete,
    groupAs(Role.Admin),
    others,
    MessageOutcome.Apply,
  ],
  [
    'the owner deletes another’s message',
    MessageAction.Delete,
    groupAs(Role.Owner),
    others,
    MessageOutcome.Apply,
  ],
  [
    'a direct chat user deletes the other’s message',
    MessageAction.Delete,
    direct,
    others,
    'PERMISSION_DENIED MESSAGE.NOT_ALLOWED_TO_DELETE',
  ],
  [
    'an outsider deletes',
    MessageAction.Delete,
    outsider,
    others,
    'PERMISSION_DENIED CONVERSATION.NOT_A_MEMBER',
  ],
];

describe('message rules', () => {
  it.each(CASES)('%s', (_, action, standing, message, expected) => {
    expect(outcomeOf(action, 'ann', standing, message)).toBe(expected);
  });

  it('refuses to decide an edit without the message (a bug, not a client error)', () => {
    expect(outcomeOf(MessageAction.Edit, 'ann', groupAs(Role.Member), undefined)).toBe(
      'bug: authorizeMessage(EDIT) needs the message it acts on',
    );
  });
});

import { DomainError, ErrorKind, isDomainError } from './domain-error';

describe('DomainError', () => {
  it('carries its kind, stable code, message and name', () => {
    const error = DomainError.permissionDenied('GROUP.ADMIN_REQUIRED', 'Only an admin can do that');
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: 'DomainError',
      kind: ErrorKind.PermissionDenied,
      code: 'GROUP.ADMIN_REQUIRED',
      message: 'Only an admin can do that',
      details: {},
    });
  });

  it('passes the cause and the details through', () => {
    const cause = new Error('connection refused');
    const error = DomainError.unavailable('DB.DOWN', 'The database is unavailable', {
      cause,
      details: { retry: 'later' },
    });
    expect(error.cause).toBe(cause);
    expect(error.details).toEqual({ retry: 'later' });
  });

  it.each([
    [DomainError.invalidArgument, ErrorKind.InvalidArgument],
    [DomainError.failedPrecondition, ErrorKind.FailedPrecondition],
    [DomainError.notFound, ErrorKind.NotFound],
    [DomainError.alreadyExists, ErrorKind.AlreadyExists],
    [DomainError.permissionDenied, ErrorKind.PermissionDenied],
    [DomainError.unauthenticated, ErrorKind.Unauthenticated],
    [DomainError.unavailable, ErrorKind.Unavailable],
    [DomainError.unimplemented, ErrorKind.Unimplemented],
  ])('builds the kind %# with its factory', (factory, kind) => {
    expect(factory('X.Y', 'message').kind).toBe(kind);
  });

  it('tells domain errors from other errors', () => {
    expect(isDomainError(DomainError.notFound('X.Y', 'gone'))).toBe(true);
    expect(isDomainError(new Error('boom'))).toBe(false);
    expect(isDomainError({ kind: ErrorKind.NotFound, code: 'X.Y' })).toBe(false);
  });
});

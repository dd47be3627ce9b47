import { Metadata, status } from '@grpc/grpc-js';
import { RpcException } from '@nestjs/microservices';
import pino from 'pino';
import { DomainError, ErrorKind } from '@chat/domain';
import { ERROR_CODE_METADATA_KEY, REQUEST_ID_METADATA_KEY, requestIdOf, toGrpcError } from './error-mapping';

const logger = pino({ level: 'silent' });

describe('toGrpcError', () => {
  it.each([
    [ErrorKind.InvalidArgument, status.INVALID_ARGUMENT],
    [ErrorKind.FailedPrecondition, status.FAILED_PRECONDITION],
    [ErrorKind.NotFound, status.NOT_FOUND],
    [ErrorKind.AlreadyExists, status.ALREADY_EXISTS],
    [ErrorKind.PermissionDenied, status.PERMISSION_DENIED],
    [ErrorKind.Unauthenticated, status.UNAUTHENTICATED],
    [ErrorKind.Unavailable, status.UNAVAILABLE],
    [ErrorKind.Unimplemented, status.UNIMPLEMENTED],
  ])('maps a %s domain error to its status with the message and the stable code', (kind, code) => {
    const error = toGrpcError(
      new DomainError(kind, 'GROUP.SOMETHING', 'Something about the group'),
      logger,
      'r-1',
    );
    expect([error.code, error.details]).toEqual([code, 'Something about the group']);
    expect(error.metadata.get(ERROR_CODE_METADATA_KEY)).toEqual(['GROUP.SOMETHING']);
    expect(error.metadata.get(REQUEST_ID_METADATA_KEY)).toEqual(['r-1']);
  });

  it('turns an unknown error into INTERNAL without its message or stack', () => {
    const error = toGrpcError(new Error('password=hunter2 at db.internal:5432'), logger, 'r-2');
    expect(error.code).toBe(status.INTERNAL);
    expect(error.details).not.toContain('hunter2');
    expect(error.details).toContain('r-2');
  });

  it('turns a thrown non-error into INTERNAL too, never UNKNOWN', () => {
    expect(toGrpcError('a string', logger).code).toBe(status.INTERNAL);
    expect(toGrpcError(undefined, logger).code).toBe(status.INTERNAL);
  });

  it('maps a PostgreSQL invalid text representation to INVALID_ARGUMENT without SQL', () => {
    const pgError = Object.assign(new Error('invalid input syntax for type uuid: "nope"'), {
      code: '22P02',
      severity: 'ERROR',
    });
    const error = toGrpcError(pgError, logger);
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).not.toMatch(/syntax|uuid/);
  });

  it('passes an explicit RpcException status through but never UNKNOWN', () => {
    expect(toGrpcError(new RpcException({ code: status.NOT_FOUND, message: 'gone' }), logger)).toMatchObject({
      code: status.NOT_FOUND,
      details: 'gone',
    });
    expect(toGrpcError(new RpcException({ code: status.UNKNOWN, message: 'x' }), logger).code).toBe(
      status.INTERNAL,
    );
  });
});

describe('requestIdOf', () => {
  it('uses a well-formed x-request-id from the caller', () => {
    const metadata = new Metadata();
    metadata.set('x-request-id', 'gateway-123');
    expect(requestIdOf(metadata)).toBe('gateway-123');
  });

  it('makes one up when the caller sent none or a malformed one', () => {
    const metadata = new Metadata();
    metadata.set('x-request-id', 'bad id with spaces');
    expect(requestIdOf(metadata)).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdOf(undefined)).toMatch(/^[0-9a-f-]{36}$/);
  });
});

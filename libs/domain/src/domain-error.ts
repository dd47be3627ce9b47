/**
 * What went wrong, in terms a caller can act on. The transport maps each kind to
 * exactly one status code (gRPC: libs/grpc error mapping).
 */
export enum ErrorKind {
  InvalidArgument = 'INVALID_ARGUMENT',
  FailedPrecondition = 'FAILED_PRECONDITION',
  NotFound = 'NOT_FOUND',
  AlreadyExists = 'ALREADY_EXISTS',
  PermissionDenied = 'PERMISSION_DENIED',
  Unauthenticated = 'UNAUTHENTICATED',
  Unavailable = 'UNAVAILABLE',
  /** A per-caller resource ran out (a subscriber that does not read filled its buffer). */
  ResourceExhausted = 'RESOURCE_EXHAUSTED',
  Unimplemented = 'UNIMPLEMENTED',
}

export interface DomainErrorOptions {
  cause?: unknown;
  /** Extra machine-readable facts, sent to clients (never internals). */
  details?: Record<string, string>;
}

/**
 * The one error type of the domain. `code` is stable and documented
 * (`GROUP.OWNER_CANNOT_BE_REMOVED`); `message` is for humans.
 */
export class DomainError extends Error {
  override readonly name = 'DomainError';
  readonly details: Record<string, string>;

  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    options: DomainErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details ?? {};
  }

  static invalidArgument(code: string, message: string, options?: DomainErrorOptions): DomainError {
    return new DomainError(ErrorKind.InvalidArgument, code, message, options);
  }

  static failedPrecondition(code: string, message: string, options?: DomainErrorOptions): DomainError {
    return new DomainError(ErrorKind.FailedPrecondition, code, message, options);
  }

  static notFound(code: string, message: string, options?: DomainErrorOptions): DomainError {
    return new DomainError(ErrorKind.NotFound, code, message, options);
  }

  static alreadyExists(code: string, message: string, options?: DomainErrorOptions): DomainError {
    return new DomainError(ErrorKind.AlreadyExists, code, message, options);
  }

  static permissionDenied(code: string, message: string, options?: DomainErrorOptions): DomainError {
    return new DomainError(ErrorKind.PermissionDenied, code, message, options);
  }

  static unauthenticated(code: string, message: string, options?: DomainErrorOptions): DomainError {
    return new DomainError(ErrorKind.Unauthenticated, code, message, options);
  }

  static unavailable(code: string, message: string, options?: DomainErrorOptions): DomainError {
    return new DomainError(ErrorKind.Unavailable, code, message, options);
  }

  static resourceExhausted(code: string, message: string, options?: DomainErrorOptions): DomainError {
    return new DomainError(ErrorKind.ResourceExhausted, code, message, options);
  }

  static unimplemented(code: string, message: string, options?: DomainErrorOptions): DomainError {
    return new DomainError(ErrorKind.Unimplemented, code, message, options);
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}

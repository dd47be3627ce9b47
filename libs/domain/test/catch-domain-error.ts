import { DomainError } from '../src/domain-error';

/** Runs `fn` and returns the DomainError it throws; fails when it throws nothing or something else. */
export function catchDomainError(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError, but nothing was thrown');
}

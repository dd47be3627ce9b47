import { DomainError } from '@chat/domain';

/** For RPCs of the contract whose issue has not landed yet: a clear UNIMPLEMENTED, never a fake result. */
export function notImplementedYet(service: string, method: string): never {
  throw DomainError.unimplemented(
    'RPC.NOT_IMPLEMENTED',
    `${service}.${method} is part of the contract but not implemented yet in this version`,
  );
}

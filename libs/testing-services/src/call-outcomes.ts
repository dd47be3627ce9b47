import { randomUUID } from 'node:crypto';
import { status, type ServiceError } from '@grpc/grpc-js';

/** The gRPC status a call ends with: OK or its error code. */
export async function statusOf(call: Promise<unknown>): Promise<status> {
  try {
    await call;
    return status.OK;
  } catch (error) {
    return (error as ServiceError).code;
  }
}

/** The error a call fails with; throws when it succeeds. */
export async function failureOf(call: Promise<unknown>): Promise<ServiceError> {
  try {
    await call;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the call to fail');
}

/** Distinct user ids per test (`ann` → `ann-1a2b3c4d`), so tests never see each other's data. */
export function users<const Names extends readonly string[]>(
  ...names: Names
): { [K in Names[number]]: string } {
  const suffix = randomUUID().slice(0, 8);
  return Object.fromEntries(names.map((name) => [name, `${name}-${suffix}`])) as {
    [K in Names[number]]: string;
  };
}

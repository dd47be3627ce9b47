export * from './domain-error';
export * from './error-codes';
export * from './roles';
export * from './group-rules';
export * from './message-rules';
export * from './limits';
export * from './ids';
export * from './validation';
export { codePointLength } from './unicode';

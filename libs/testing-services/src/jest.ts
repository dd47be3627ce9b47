// Shared Jest expectations for services; a separate entry point
// (`@chat/testing-services/jest`) so non-test tools can import the rest of the lib.
export { itServesHealth } from './service-expectations';

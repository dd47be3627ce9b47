// Every project's tests in one run: `npx jest` (or `npm test` for the full gate).
const { transform, transformIgnorePatterns } = require('./jest.preset.cjs');

module.exports = {
  maxWorkers: 2,
  // Global options are ignored inside project configs: repeat the preset's here.
  testTimeout: 60_000,
  // PostgreSQL and NATS are located (or started as containers) once per run.
  transform,
  transformIgnorePatterns,
  globalSetup: '<rootDir>/libs/testing/src/jest-global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/jest-global-teardown.ts',
  projects: [
    '<rootDir>/libs/*/jest.config.cjs',
    '<rootDir>/apps/*/jest.config.cjs',
    '<rootDir>/e2e/*/jest.config.cjs',
  ],
};

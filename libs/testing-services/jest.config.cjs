module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'testing-services',
  rootDir: __dirname,
  // Exercised by every app's and the system tests; it has no tests of its own.
  passWithNoTests: true,
};

module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'conversation-service',
  rootDir: __dirname,
};

module.exports = { ...require('../../jest.preset.cjs'), displayName: 'message-service', rootDir: __dirname };

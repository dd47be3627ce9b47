module.exports = { ...require('../../jest.preset.cjs'), displayName: 'group-service', rootDir: __dirname };

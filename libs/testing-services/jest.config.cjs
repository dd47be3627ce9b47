module.exports = { ...require('../../jest.preset.cjs'), displayName: 'testing-services', rootDir: __dirname };

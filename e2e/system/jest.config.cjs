// System tests: the built apps (dist/apps/*/main.js) run as separate processes.
module.exports = { ...require('../../jest.preset.cjs'), displayName: 'system', rootDir: __dirname };

// Bundles the demo into dist/tools/demo/main.js; node_modules stay external and resolve from the
// repository (the demo runs from a checkout, next to `npm start`) (tools/build/node-bundle.cjs).
const nodeBundle = require('../../tools/build/node-bundle.cjs');

module.exports = nodeBundle({ dir: __dirname, out: 'tools/demo' });

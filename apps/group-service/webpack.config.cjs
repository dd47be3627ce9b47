// Bundles the app and the libs it uses into dist/apps/group-service/main.js, with a package.json of its
// production dependencies and the .proto files next to it (tools/build/node-bundle.cjs).
const nodeBundle = require('../../tools/build/node-bundle.cjs');

module.exports = nodeBundle({
  dir: __dirname,
  out: 'apps/group-service',
  tsConfig: './tsconfig.app.json',
  generatePackageJson: true,
});

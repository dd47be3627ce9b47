// The webpack configuration every bundled program of the repository shares: a Node.js bundle of one
// project with the libs it uses compiled in, node_modules left external, source maps, and the .proto
// files next to it (resolved by @chat/contract at run time).
//
//   module.exports = nodeBundle({ dir: __dirname, out: 'apps/message-service', generatePackageJson: true });
//
// `generatePackageJson`: an app ships with a package.json of its production dependencies (its image
// installs them); a tool runs from the checkout and resolves node_modules from it.
const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { join } = require('node:path');

module.exports = function nodeBundle({
  dir,
  out,
  tsConfig = './tsconfig.json',
  generatePackageJson = false,
}) {
  return {
    output: { path: join(dir, '../../dist', out), clean: true },
    devtool: 'source-map',
    plugins: [
      new NxAppWebpackPlugin({
        target: 'node',
        compiler: 'tsc',
        main: './src/main.ts',
        tsConfig,
        assets: [{ input: '../../protos', glob: '**/*.proto', output: 'protos' }],
        optimization: false,
        outputHashing: 'none',
        generatePackageJson,
        sourceMap: true,
      }),
    ],
  };
};

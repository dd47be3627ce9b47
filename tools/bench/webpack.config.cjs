// Bundles each benchmark into dist/tools/bench/<name>.js (run with `node`), with the libs it uses compiled
// in; node_modules stay external and resolve from the repository's node_modules, so the bundles run from
// the repository only (no generated package.json). One entry per benchmark: `main` is the first, the others
// go in additionalEntryPoints (`{ entryName: 'message-send', entryPath: './src/message-send.ts' }`).
const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { join } = require('node:path');

module.exports = {
  // No default `./src` entry: the plugin adds one entry per benchmark.
  entry: {},
  output: { path: join(__dirname, '../../dist/tools/bench'), clean: true },
  devtool: 'source-map',
  plugins: [
    new NxAppWebpackPlugin({
      target: 'node',
      compiler: 'tsc',
      main: './src/events.ts',
      outputFileName: 'events.js',
      additionalEntryPoints: [
        { entryName: 'message-send', entryPath: './src/message-send.ts' },
        { entryName: 'system', entryPath: './src/system.ts' },
      ],
      tsConfig: './tsconfig.json',
      optimization: false,
      outputHashing: 'none',
      generatePackageJson: false,
      sourceMap: true,
    }),
  ],
};

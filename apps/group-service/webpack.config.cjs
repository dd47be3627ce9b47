// Bundles the app and the libs it uses into dist/apps/group-service/main.js; node_modules stay
// external and are listed in the generated dist package.json. The .proto files ship
// next to the bundle (resolved by @chat/contract at run time).
const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { join } = require('node:path');

module.exports = {
  output: { path: join(__dirname, '../../dist/apps/group-service'), clean: true },
  devtool: 'source-map',
  plugins: [
    new NxAppWebpackPlugin({
      target: 'node',
      compiler: 'tsc',
      main: './src/main.ts',
      tsConfig: './tsconfig.app.json',
      assets: [{ input: '../../protos', glob: '**/*.proto', output: 'protos' }],
      optimization: false,
      outputHashing: 'none',
      generatePackageJson: true,
      sourceMap: true,
    }),
  ],
};

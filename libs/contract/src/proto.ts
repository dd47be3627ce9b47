import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';

/** The proto package every chat service lives in. */
export const CHAT_PACKAGE = 'chat';
export const CHAT_PROTO_FILE = 'chat.proto';

/**
 * How the .proto files are turned into JavaScript objects, the same on servers and
 * clients: camelCase fields (what the generated types use), 64-bit integers as
 * numbers (`seq` stays far below 2^53), enums as numbers, defaults filled in for
 * plain fields while proto3 `optional` fields stay undefined when absent.
 */
export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: false,
  longs: Number,
  defaults: true,
  oneofs: true,
};

/**
 * Where the .proto files are: `CHAT_PROTO_DIR` when set, next to a bundled app
 * (`dist/apps/<app>/protos`), else the repository's `protos/`.
 */
export function resolveProtoDir(): string {
  const candidates = [
    process.env['CHAT_PROTO_DIR'],
    path.join(__dirname, 'protos'),
    path.resolve(__dirname, '../../../protos'),
    path.resolve(process.cwd(), 'protos'),
  ].filter((dir): dir is string => Boolean(dir));
  const found = candidates.find((dir) => existsSync(path.join(dir, CHAT_PROTO_FILE)));
  if (!found) {
    throw new Error(
      `Cannot find ${CHAT_PROTO_FILE}; looked in ${candidates.join(', ')} (set CHAT_PROTO_DIR)`,
    );
  }
  return found;
}

export function chatProtoPath(): string {
  return path.join(resolveProtoDir(), CHAT_PROTO_FILE);
}

/** The chat package definition, plus any extra .proto files (for example grpc.health.v1). */
export function loadChatPackageDefinition(extraProtoFiles: string[] = []): PackageDefinition {
  const protoDir = resolveProtoDir();
  return loadSync([path.join(protoDir, CHAT_PROTO_FILE), ...extraProtoFiles], {
    ...PROTO_LOADER_OPTIONS,
    includeDirs: [protoDir],
  });
}

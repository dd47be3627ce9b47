import path from 'node:path';
import { credentials, loadPackageDefinition, type ClientDuplexStream } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import descriptor from 'protobufjs/ext/descriptor';

interface ReflectionResponse {
  listServicesResponse?: { service: Array<{ name: string }> };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

type ReflectionStub = new (
  address: string,
  creds: ReturnType<typeof credentials.createInsecure>,
) => { serverReflectionInfo(): ClientDuplexStream<object, ReflectionResponse>; close(): void };

function reflectionStub(): ReflectionStub {
  const protoFile = path.join(
    path.dirname(require.resolve('@grpc/reflection/package.json')),
    'build/proto/grpc/reflection/v1/reflection.proto',
  );
  const grpcObject = loadPackageDefinition(loadSync(protoFile)) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: ReflectionStub } } };
  };
  return grpcObject.grpc.reflection.v1.ServerReflection;
}

/** Asks a server, through grpc.reflection.v1, for its services and each service's methods. */
export async function describeByReflection(address: string): Promise<Record<string, string[]>> {
  const Stub = reflectionStub();
  const client = new Stub(address, credentials.createInsecure());
  const ask = (request: object) =>
    new Promise<ReflectionResponse>((resolve, reject) => {
      const call = client.serverReflectionInfo();
      call.once('data', (response: ReflectionResponse) => {
        resolve(response);
        call.end();
      });
      call.once('error', reject);
      call.write(request);
    });
  try {
    const listed = await ask({ listServices: '' });
    const names = (listed.listServicesResponse?.service ?? []).map((service) => service.name);
    const result: Record<string, string[]> = {};
    for (const name of names) {
      const answer = await ask({ fileContainingSymbol: name });
      const files = (answer.fileDescriptorResponse?.fileDescriptorProto ?? []).map((bytes) =>
        descriptor.FileDescriptorProto.decode(bytes),
      ) as unknown as Array<{
        package?: string;
        service?: Array<{ name: string; method?: Array<{ name: string }> }>;
      }>;
      for (const file of files) {
        for (const service of file.service ?? []) {
          const fullName = file.package ? `${file.package}.${service.name}` : service.name;
          if (fullName === name) result[name] = (service.method ?? []).map((method) => method.name);
        }
      }
    }
    return result;
  } finally {
    client.close();
  }
}

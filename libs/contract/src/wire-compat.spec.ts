import path from 'node:path';
import { loadSync, type Enum, type Namespace, type ReflectionObject, Service, Type } from 'protobufjs';
import { chatProtoPath } from './proto';

const seedCard = loadSync(path.join(__dirname, '../test/fixtures/seed-card.proto')).resolveAll();
const current = loadSync(chatProtoPath()).resolveAll();

function membersOf<T extends ReflectionObject>(root: Namespace, kind: new (...args: never[]) => T): T[] {
  const chat = root.lookup('chat') as Namespace;
  return chat.nestedArray.filter((object): object is T => object instanceof kind);
}

describe('protos/chat.proto against the seed card', () => {
  const seedTypes = membersOf(seedCard, Type);
  const seedServices = membersOf(seedCard, Service);

  it('reads the seed card fixture completely', () => {
    expect(seedTypes.map((type) => type.name)).toHaveLength(20);
    expect(seedServices.map((service) => service.name)).toEqual([
      'ConversationService',
      'MessageService',
      'GroupService',
    ]);
  });

  it.each(seedTypes.map((type) => [type.name, type] as const))(
    'keeps every field of %s with its name, number, type and cardinality',
    (name, seedType) => {
      const type = current.lookupType(`chat.${name}`);
      for (const seedField of seedType.fieldsArray) {
        const field = type.fields[seedField.name];
        expect(field).toBeDefined();
        expect({ id: field!.id, type: field!.type, repeated: field!.repeated }).toEqual({
          id: seedField.id,
          type: seedField.type,
          repeated: seedField.repeated,
        });
      }
    },
  );

  it.each(seedServices.map((service) => [service.name, service] as const))(
    'keeps every RPC of %s with its request and reply types',
    (name, seedService) => {
      const service = current.lookupService(`chat.${name}`);
      for (const seedMethod of seedService.methodsArray) {
        const method = service.methods[seedMethod.name];
        expect(method).toBeDefined();
        expect([method!.requestType, method!.responseType]).toEqual([
          seedMethod.requestType,
          seedMethod.responseType,
        ]);
      }
    },
  );

  it('never reuses a field number within a message', () => {
    for (const type of membersOf(current, Type)) {
      const numbers = type.fieldsArray.map((field) => field.id);
      expect(new Set(numbers).size).toBe(numbers.length);
    }
  });

  it('numbers the Role enum as ARCHITECTURE §2 fixes it', () => {
    const role = current.lookup('chat.Role') as Enum;
    expect(role.values).toEqual({ ROLE_UNSPECIFIED: 0, ROLE_MEMBER: 1, ROLE_ADMIN: 2, ROLE_OWNER: 3 });
  });
});

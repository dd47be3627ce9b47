import { status } from '@grpc/grpc-js';
import { exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { createGroupClient, type GroupClient } from '@chat/contract';
import { bootService, type TestService } from '@chat/testing-services';
import { groupService } from '../src/service';
import { statusOf, users } from './group-fixture';

const SECRET = 'a-shared-secret-of-at-least-32-characters';

async function token(
  subject: string,
  key: CryptoKey | Uint8Array,
  alg: string,
  expiresIn = '5m',
): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg })
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(key);
}

describe('group-service with JWT verification (HS256 secret)', () => {
  let service: TestService<GroupClient>;
  const secret = new TextEncoder().encode(SECRET);

  beforeAll(async () => {
    service = await bootService(groupService, createGroupClient, { env: { JWT_SECRET: SECRET } });
  });

  afterAll(async () => {
    await service?.close();
  });

  const create = (userId: string, authorization?: string) =>
    service.client.create(
      { userId, data: { name: 'Secure' } },
      { metadata: authorization ? { authorization } : {} },
    );

  it('accepts a call whose token subject is the acting user', async () => {
    const { ann } = users('ann');
    expect(await statusOf(create(ann, `Bearer ${await token(ann, secret, 'HS256')}`))).toBe(status.OK);
  });

  it('refuses a call without a token, with a forged or an expired one as UNAUTHENTICATED', async () => {
    const { ann } = users('ann');
    const forged = await token(
      ann,
      new TextEncoder().encode('another-secret-of-at-least-32-chars!'),
      'HS256',
    );
    const expired = await token(ann, secret, 'HS256', '-1m');
    expect(await statusOf(create(ann))).toBe(status.UNAUTHENTICATED);
    expect(await statusOf(create(ann, 'Basic abc'))).toBe(status.UNAUTHENTICATED);
    expect(await statusOf(create(ann, `Bearer ${forged}`))).toBe(status.UNAUTHENTICATED);
    expect(await statusOf(create(ann, `Bearer ${expired}`))).toBe(status.UNAUTHENTICATED);
  });

  it('refuses a token of another user as PERMISSION_DENIED', async () => {
    const { ann, bob } = users('ann', 'bob');
    expect(await statusOf(create(ann, `Bearer ${await token(bob, secret, 'HS256')}`))).toBe(
      status.PERMISSION_DENIED,
    );
  });

  it('still answers Health without a token', async () => {
    await expect(service.client.health({})).resolves.toEqual({ success: true });
  });
});

describe('group-service with JWT verification (ES256 public key)', () => {
  let service: TestService<GroupClient>;
  let privateKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    service = await bootService(groupService, createGroupClient, {
      env: { JWT_PUBLIC_KEY: await exportSPKI(pair.publicKey) },
    });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('accepts a token signed with the matching private key and refuses one signed with another', async () => {
    const { ann } = users('ann');
    const other = await generateKeyPair('ES256');
    const call = async (key: CryptoKey) =>
      statusOf(
        service.client.create(
          { userId: ann, data: { name: 'Keyed' } },
          { metadata: { authorization: `Bearer ${await token(ann, key, 'ES256')}` } },
        ),
      );
    expect(await call(privateKey)).toBe(status.OK);
    expect(await call(other.privateKey)).toBe(status.UNAUTHENTICATED);
  });
});

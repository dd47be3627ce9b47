import { Metadata } from '@grpc/grpc-js';
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { importSPKI, jwtVerify, type CryptoKey, type JWTVerifyOptions, type KeyObject } from 'jose';
import { AuthErrorCode, DomainError } from '@chat/domain';

/** How calls prove who the acting user is (ARCHITECTURE §3). */
export interface AuthenticationSettings {
  /** PEM public key (SPKI) for RS256 / ES256 / EdDSA tokens. */
  publicKey?: string;
  /** Shared secret for HS256 tokens. */
  secret?: string;
  issuer?: string;
  audience?: string;
}

type VerificationKey = CryptoKey | KeyObject | Uint8Array;

const ASYMMETRIC_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const;

/**
 * When a verification key is configured, every call that names an acting `user_id`
 * must carry `authorization: Bearer <JWT>` signed with that key, unexpired, whose
 * subject is that user: missing or invalid → UNAUTHENTICATED, another subject →
 * PERMISSION_DENIED. Without a key the gateway's `user_id` is trusted as it is.
 */
@Injectable()
export class JwtAuthentication implements CanActivate {
  private key: Promise<{ key: VerificationKey; algorithms: string[] }> | undefined;

  constructor(private readonly settings: AuthenticationSettings) {}

  get enabled(): boolean {
    return Boolean(this.settings.publicKey || this.settings.secret);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.enabled || context.getType() !== 'rpc') return true;
    const request = context.switchToRpc().getData() as { userId?: unknown } | undefined;
    if (typeof request?.userId !== 'string') return true; // Health: no acting user
    const subject = await this.verify(context.switchToRpc().getContext());
    if (subject !== request.userId) {
      throw DomainError.permissionDenied(
        AuthErrorCode.SubjectMismatch,
        'The token belongs to another user than user_id',
      );
    }
    return true;
  }

  /** The token's subject; throws UNAUTHENTICATED when there is no valid token. */
  async verify(metadata: unknown): Promise<string> {
    const header = metadata instanceof Metadata ? metadata.get('authorization')[0] : undefined;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) {
      throw DomainError.unauthenticated(
        AuthErrorCode.TokenMissing,
        'This service requires a bearer token in the authorization metadata',
      );
    }
    const { key, algorithms } = await (this.key ??= this.loadKey());
    const options: JWTVerifyOptions = {
      algorithms,
      issuer: this.settings.issuer,
      audience: this.settings.audience,
    };
    try {
      const { payload } = await jwtVerify(match[1]!, key, options);
      if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw new Error('no subject');
      return payload.sub;
    } catch (error) {
      throw DomainError.unauthenticated(
        AuthErrorCode.TokenInvalid,
        'The bearer token is invalid or expired',
        {
          cause: error,
        },
      );
    }
  }

  private async loadKey(): Promise<{ key: VerificationKey; algorithms: string[] }> {
    if (this.settings.secret)
      return { key: new TextEncoder().encode(this.settings.secret), algorithms: ['HS256'] };
    for (const algorithm of ASYMMETRIC_ALGORITHMS) {
      try {
        return { key: await importSPKI(this.settings.publicKey!, algorithm), algorithms: [algorithm] };
      } catch {
        // try the next algorithm the key may be for
      }
    }
    throw new Error('JWT_PUBLIC_KEY is not an RSA, P-256 or Ed25519 public key in PEM (SPKI) form');
  }
}

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { API_ROLES, type ApiRole, type ApiTokenStore, type TokenOwner, type TokenRecord } from '@rayvault/shared';

/** viewer < operator < admin. */
export function hasRole(have: ApiRole, need: ApiRole): boolean {
  return API_ROLES.indexOf(have) >= API_ROLES.indexOf(need);
}

/** The name actions taken with RAYVAULT_ADMIN_TOKEN are recorded under. */
export const BOOTSTRAP_ADMIN = 'bootstrap-admin';

/**
 * Tokens are 256 random bits, so an unsalted sha256 is as good as a slow hash here, and lookups stay one index probe.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newToken(): string {
  return `rvt_${randomBytes(32).toString('base64url')}`;
}

/** Finds who a token hash belongs to: the bootstrap admin (compared in constant time) or a live database token. */
export function createTokenResolver(tokens: ApiTokenStore, adminToken?: string) {
  const adminHash = adminToken ? Buffer.from(hashToken(adminToken), 'hex') : undefined;
  return async (hash: string): Promise<TokenOwner | null> => {
    if (adminHash && timingSafeEqual(Buffer.from(hash, 'hex'), adminHash))
      return { name: BOOTSTRAP_ADMIN, role: 'admin' };
    return tokens.find(hash);
  };
}
export type TokenResolver = ReturnType<typeof createTokenResolver>;

/** Database tokens; the plaintext is returned once, at creation, and never stored. */
export function createTokenStore(tokens: ApiTokenStore) {
  return {
    async create(a: { name: string; role: ApiRole; actor: string }): Promise<TokenRecord & { token: string }> {
      const token = newToken();
      return { ...(await tokens.create({ ...a, hash: hashToken(token) })), token };
    },
    list: tokens.list,
    revoke: tokens.revoke,
  };
}
export type TokenStore = ReturnType<typeof createTokenStore>;

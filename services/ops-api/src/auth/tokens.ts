import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Rpc } from '@rayvault/shared';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** viewer < operator < admin. */
export function hasRole(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export type TokenOwner = { name: string; role: Role };
export type TokenRecord = TokenOwner & { id: string; created_by: string; created_at: string; revoked_at: string | null; revoked_by: string | null };

/** The name actions taken with RAYVAULT_ADMIN_TOKEN are recorded under. */
export const BOOTSTRAP_ADMIN = 'bootstrap-admin';

/** Tokens are 256 random bits, so an unsalted sha256 is as good as a slow hash here, and lookups stay one index probe. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newToken(): string {
  return `rvt_${randomBytes(32).toString('base64url')}`;
}

/** Finds who a token hash belongs to: the bootstrap admin (compared in constant time) or a live database token. */
export function createTokenResolver(rpc: Rpc, adminToken?: string) {
  const adminHash = adminToken ? Buffer.from(hashToken(adminToken), 'hex') : undefined;
  return async (hash: string): Promise<TokenOwner | null> => {
    if (adminHash && timingSafeEqual(Buffer.from(hash, 'hex'), adminHash)) return { name: BOOTSTRAP_ADMIN, role: 'admin' };
    return (await rpc('rv_api_token_find', { p_hash: hash })) as TokenOwner | null;
  };
}
export type TokenResolver = ReturnType<typeof createTokenResolver>;

/** Database tokens; the plaintext is returned once, at creation, and never stored. */
export function createTokenStore(rpc: Rpc) {
  return {
    async create(a: { name: string; role: Role; actor: string }): Promise<TokenRecord & { token: string }> {
      const token = newToken();
      const record = (await rpc('rv_api_token_create', { p_name: a.name, p_role: a.role, p_hash: hashToken(token), p_actor: a.actor })) as TokenRecord;
      return { ...record, token };
    },
    list: () => rpc('rv_api_token_list', {}) as Promise<TokenRecord[]>,
    revoke: (a: { name: string; actor: string; reason?: string }) =>
      rpc('rv_api_token_revoke', { p_name: a.name, p_actor: a.actor, p_reason: a.reason ?? null }) as Promise<TokenRecord>,
  };
}

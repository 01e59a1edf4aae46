import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Identity proof: the storefront's backend signs the user id it knows with a
 * secret it shares with us (IDENTITY_SECRET). Ingest marks events whose batch
 * carries a valid token `user_verified`; the homepage API gives a user's
 * promotions only to a caller with a valid token (or the server key).
 * Token = hex HMAC-SHA256(secret, "v1:" + userId).
 * Server-only: the SDK imports this package for types only.
 */
export function signUserToken(secret: string, userId: string): string {
  return createHmac('sha256', secret).update(`v1:${userId}`).digest('hex');
}

export function verifyUserToken(secret: string, userId: string, token: unknown): boolean {
  if (typeof token !== 'string' || token.length !== 64 || !/^[0-9a-f]+$/i.test(token)) return false;
  const want = Buffer.from(signUserToken(secret, userId), 'hex');
  const got = Buffer.from(token, 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}

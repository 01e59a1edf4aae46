/**
 * Redis key builders. All keys of one visitor share the hash tag `{userKey}`
 * so a single Lua script can touch them in one Redis Cluster slot.
 * `prefix` is `TOPIC_PREFIX` (may be empty).
 */
function tag(userKey: string): string {
  // A visitor key must not contain braces, or the hash tag would change.
  return `{${userKey.replace(/[{}]/g, '_')}}`;
}

export const redisKeys = {
  userPromotions: (prefix: string, userKey: string) => `${prefix}user_promotions:${tag(userKey)}`,
  interests: (prefix: string, userKey: string) => `${prefix}interests:${tag(userKey)}`,
  appliedEvents: (prefix: string, userKey: string) => `${prefix}applied:${tag(userKey)}`,
  alias: (prefix: string, anonymousId: string) => `${prefix}alias:${tag(anonymousId)}`,
};

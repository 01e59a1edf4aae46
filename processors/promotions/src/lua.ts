import { MIN_SCORE, REBASE_AFTER_HALF_LIVES, TRIM_FACTOR } from './profile.ts';

/**
 * Lua scripts that update one visitor's keys atomically. All keys of a call
 * share the visitor's `{userKey}` hash tag, so they run in one Redis Cluster
 * slot. The fold mirrors src/profile.ts (the tested reference model).
 *
 * Interests hash: `_ref` (newest event date, ms), `_base` (ms), `_v`
 * (version), `s:<term>` score relative to _base, `r:<term>` encoded reason. Applied set: ZSET event_id -> applied-at ms,
 * trimmed to the newest PROMOTIONS_APPLIED_MAX ids.
 */

/**
 * Consent opt-out (see purge.ts): the tombstone holds the purge time (epoch
 * ms). An event received at or before it belongs to the erased history and is
 * skipped; a later one (the visitor came back) is applied as usual.
 */
const PURGED_CHECK = (tombstone: string, seen: string) => `
local purged_at = tonumber(redis.call('GET', ${tombstone}) or '')
if purged_at and tonumber(${seen}) <= purged_at then return { 'purged' } end
`;

// Byte-wise string order: Lua's < uses strcoll, and Redis sets LC_COLLATE from the environment.
// Lua in Redis costs about a microsecond per simple step, so the per-event path
// only reads and writes the event's own terms; full-hash work (trim, rebase,
// merge) is rare.
const PRELUDE = `
local function gt(a, b)
  if a == b then return false end
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return #a > #b
end

local function fmt(x) return string.format('%.17g', x) end
local function int(x) return string.format('%.0f', x) end

-- Re-expresses every score against a newer base.
local function rebase(key, base, to, H)
  local flat = redis.call('HGETALL', key)
  local k = 2 ^ ((base - to) / H)
  local out = {}
  for i = 1, #flat, 2 do
    if string.sub(flat[i], 1, 2) == 's:' then
      out[#out + 1] = flat[i]
      out[#out + 1] = fmt(tonumber(flat[i + 1]) * k)
    end
  end
  out[#out + 1] = '_base'
  out[#out + 1] = int(to)
  redis.call('HSET', key, unpack(out))
end

-- Keeps the top N terms once the hash holds more than 2N (plus _ref/_base/_v).
local function trim(key, topN, H)
  if redis.call('HLEN', key) <= 2 * (${TRIM_FACTOR} * topN) + 3 then return end
  local flat = redis.call('HGETALL', key)
  local scores, list, ref, base = {}, {}, 0, 0
  for i = 1, #flat, 2 do
    local f = flat[i]
    if f == '_ref' then ref = tonumber(flat[i + 1])
    elseif f == '_base' then base = tonumber(flat[i + 1])
    elseif string.sub(f, 1, 2) == 's:' then
      local t = string.sub(f, 3)
      scores[t] = tonumber(flat[i + 1])
      list[#list + 1] = t
    end
  end
  table.sort(list, function(a, b)
    local sa, sb = scores[a], scores[b]
    if sa ~= sb then return sa > sb end
    return gt(b, a)
  end)
  local floor = ${MIN_SCORE} / (2 ^ (-(ref - base) / H))
  local del = {}
  for i, t in ipairs(list) do
    if i > topN or not (scores[t] > floor) then
      del[#del + 1] = 's:' .. t
      del[#del + 1] = 'r:' .. t
    end
  end
  if #del > 0 then redis.call('HDEL', key, unpack(del)) end
end

local function mark_applied(key, ids, now, max, ttl)
  for i = 1, #ids, 500 do
    local args = {}
    for j = i, math.min(i + 499, #ids) do
      args[#args + 1] = now
      args[#args + 1] = ids[j]
    end
    redis.call('ZADD', key, unpack(args))
  end
  local extra = redis.call('ZCARD', key) - max
  if extra > 0 then redis.call('ZREMRANGEBYRANK', key, 0, extra - 1) end
  redis.call('PEXPIRE', key, ttl)
end
`;

/**
 * KEYS: interests, applied, alias, purge tombstone. ARGV: event_id, date,
 * half_life_ms, top_n, ttl_ms, applied_max, now_ms, n, seen (the event's
 * received_at), then n x (term, weight, reason), terms distinct.
 * Returns {'purged'} when the visitor opted out after this event was received
 * (a replay or redelivery must not bring the data back), {'redirect', userKey}
 * when the visitor was merged into a user, {'duplicate', hash} when the event
 * was applied before, else {'applied', hash}.
 */
export const APPLY_SCRIPT = `${PRELUDE}
${PURGED_CHECK('KEYS[4]', 'ARGV[9]')}
local target = redis.call('GET', KEYS[3])
if target then
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
  return { 'redirect', target }
end
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  return { 'duplicate', redis.call('HGETALL', KEYS[1]) }
end
local date, H, topN, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local n = tonumber(ARGV[8])
local head = redis.call('HMGET', KEYS[1], '_ref', '_v', '_base')
local ref = tonumber(head[1]) or 0
local version = tonumber(head[2]) or 0
-- A hash written before _base existed kept its scores as of _ref.
local base = tonumber(head[3]) or (ref > 0 and ref) or date
if (date - base) / H > ${REBASE_AFTER_HALF_LIVES} then
  rebase(KEYS[1], base, date, H)
  base = date
end
local c = 2 ^ ((date - base) / H)
local fields = {}
for j = 0, n - 1 do
  fields[#fields + 1] = 's:' .. ARGV[10 + 3 * j]
  fields[#fields + 1] = 'r:' .. ARGV[10 + 3 * j]
end
local out = {}
if n > 0 then
  local cur = redis.call('HMGET', KEYS[1], unpack(fields))
  for j = 0, n - 1 do
    local t, w, r = ARGV[10 + 3 * j], tonumber(ARGV[11 + 3 * j]), ARGV[12 + 3 * j]
    out[#out + 1] = 's:' .. t
    out[#out + 1] = fmt((tonumber(cur[2 * j + 1]) or 0) + w * c)
    local old = cur[2 * j + 2]
    if (not old) or gt(r, old) then
      out[#out + 1] = 'r:' .. t
      out[#out + 1] = r
    end
  end
end
if date > ref then ref = date end
out[#out + 1] = '_ref'
out[#out + 1] = int(ref)
out[#out + 1] = '_v'
out[#out + 1] = int(version + 1)
out[#out + 1] = '_base'
out[#out + 1] = int(base)
redis.call('HSET', KEYS[1], unpack(out))
trim(KEYS[1], topN, H)
redis.call('PEXPIRE', KEYS[1], ttl)
mark_applied(KEYS[2], { ARGV[1] }, ARGV[7], tonumber(ARGV[6]), ttl)
return { 'applied', redis.call('HGETALL', KEYS[1]) }
`;

/**
 * Anonymous side of an identity merge. KEYS: interests, applied, alias, purge
 * tombstone. ARGV: user key, ttl_ms, seen (the identify's received_at).
 * Points the alias at the user (new events of this anonymous id now go to the
 * user) and returns the profile and its applied ids; from here on nothing
 * changes them, so a repeated call (redelivery after a crash) returns the same
 * snapshot until CLEAR_SCRIPT removes it. Returns {'purged'} instead when the
 * anonymous visitor opted out after the identify was received.
 */
export const ALIAS_SCRIPT = `
${PURGED_CHECK('KEYS[4]', 'ARGV[3]')}
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
return { redis.call('HGETALL', KEYS[1]), redis.call('ZRANGE', KEYS[2], 0, -1) }
`;

/**
 * User side of an identity merge. KEYS: interests, applied, purge tombstone.
 * ARGV: merge_id, half_life_ms, top_n, ttl_ms, applied_max, now_ms, m, seen
 * (the identify's received_at), then m flat hash items of the anonymous
 * profile, then its applied ids. The anonymous applied ids join the user's,
 * so a redelivered anonymous event is not counted again. Returns {'purged'}
 * when the user opted out after the identify was received.
 */
export const MERGE_SCRIPT = `${PRELUDE}
${PURGED_CHECK('KEYS[3]', 'ARGV[8]')}
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  return { 'duplicate', redis.call('HGETALL', KEYS[1]) }
end
local H, topN, ttl, m = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[7])
local a = { ref = 0, base = 0, scores = {}, reasons = {}, any = false }
for i = 9, 8 + m, 2 do
  local f, v = ARGV[i], ARGV[i + 1]
  if f == '_ref' then a.ref = tonumber(v)
  elseif f == '_base' then a.base = tonumber(v)
  else
    local kind, term = string.sub(f, 1, 2), string.sub(f, 3)
    if kind == 's:' then
      a.scores[term] = tonumber(v)
      a.any = true
    elseif kind == 'r:' then a.reasons[term] = v end
  end
end
local head = redis.call('HMGET', KEYS[1], '_ref', '_v', '_base')
local ref = tonumber(head[1]) or 0
local version = tonumber(head[2]) or 0
local base = tonumber(head[3]) or ref
local out = {}
if a.any then
  local to = math.max(base, a.base)
  if base ~= to then rebase(KEYS[1], base, to, H) end
  base = to
  local c = 2 ^ ((a.base - to) / H)
  local fields = {}
  local terms = {}
  for t, _ in pairs(a.scores) do
    terms[#terms + 1] = t
    fields[#fields + 1] = 's:' .. t
    fields[#fields + 1] = 'r:' .. t
  end
  local cur = redis.call('HMGET', KEYS[1], unpack(fields))
  for j, t in ipairs(terms) do
    out[#out + 1] = 's:' .. t
    out[#out + 1] = fmt((tonumber(cur[2 * j - 1]) or 0) + a.scores[t] * c)
    local r, old = a.reasons[t], cur[2 * j]
    if r and ((not old) or gt(r, old)) then
      out[#out + 1] = 'r:' .. t
      out[#out + 1] = r
    end
  end
  if a.ref > ref then ref = a.ref end
end
out[#out + 1] = '_ref'
out[#out + 1] = int(ref)
out[#out + 1] = '_v'
out[#out + 1] = int(version + 1)
out[#out + 1] = '_base'
out[#out + 1] = int(base)
redis.call('HSET', KEYS[1], unpack(out))
trim(KEYS[1], topN, H)
redis.call('PEXPIRE', KEYS[1], ttl)
local ids = { ARGV[1] }
for i = 9 + m, #ARGV do ids[#ids + 1] = ARGV[i] end
mark_applied(KEYS[2], ids, ARGV[6], tonumber(ARGV[5]), ttl)
return { 'applied', redis.call('HGETALL', KEYS[1]) }
`;

/**
 * Last step of an identity merge, after the user side confirmed: the
 * anonymous visitor's own keys go (its alias stays). KEYS: interests, applied,
 * user_promotions, alias. Only while the alias still names ARGV[1], so a
 * re-pointed visitor is never wiped by a stale merge.
 */
export const CLEAR_SCRIPT = `
if redis.call('GET', KEYS[4]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
`;

/**
 * KEYS: user_promotions, interests. ARGV: version, json, ttl_ms. Writes the
 * ranking only if it was computed from the current profile version, so a
 * slower writer never overwrites a newer ranking. Returns 1 when written.
 */
export const PUBLISH_SCRIPT = `
local v = redis.call('HGET', KEYS[2], '_v') or '0'
if v ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`;

/**
 * Consent opt-out of one visitor. KEYS: the tombstone, then every key of the
 * visitor to delete (all generations; all share the visitor's hash tag).
 * ARGV: purge time (epoch ms), tombstone ttl_ms. The tombstone is written in
 * the same step as the deletion, so no apply can slip between them; a repeated
 * purge keeps the later time. Returns the number of keys deleted.
 */
export const PURGE_SCRIPT = `
local prev = tonumber(redis.call('GET', KEYS[1]) or '') or 0
local at = math.max(prev, tonumber(ARGV[1]))
redis.call('SET', KEYS[1], string.format('%.0f', at), 'PX', ARGV[2])
if #KEYS < 2 then return 0 end
return redis.call('DEL', unpack(KEYS, 2))
`;

-- noteUpstreamRefusal: Meta refused a business-initiated call and Telnyx relayed why (SPEC §3
-- "Outcome"); the edge learns it, so the next call is refused locally (admit_outbound.lua).
--   no_permission: the pair's permission becomes none (source and cause meta_refused, Meta's
--     text kept), unless it was written after the call started (a grant newer than the refusal).
--   daily_limit: the pair is held (perm field capHeldUntil) until its rolling window frees a
--     slot. Meta names no time: the hold ends when the edge's oldest connected call to the user
--     leaves the window (Meta counts at least those calls, so its oldest is no younger and its
--     slot frees no later), or 24 h (one window) after the refusal when the edge saw none.
--   attempt_limit: the number is held (number field attemptsHeldUntil) for holdMs.
-- KEYS: 1 number  2 perm  3 userConnected
-- ARGV: 1 nowMs  2 lesson  3 text  4 holdMs  5 windowMs  6 sinceMs (when the call went to Telnyx)
-- Returns { 'revoked', previous kind } | { 'newer', kind } | { 'held', untilMs }.
local now = tonumber(ARGV[1])
local lesson = ARGV[2]

if lesson == 'no_permission' then
  local p = redis.call('HMGET', KEYS[2], 'kind', 'updatedAt')
  local kind = p[1] or 'none'
  if tonumber(p[2] or '0') > tonumber(ARGV[6]) then return { 'newer', kind } end
  redis.call('HSET', KEYS[2], 'kind', 'none', 'source', 'meta_refused', 'cause', 'meta_refused', 'text', ARGV[3], 'updatedAt', now)
  redis.call('HDEL', KEYS[2], 'expiresAt')
  return { 'revoked', kind }
end

if lesson == 'daily_limit' then
  local window = tonumber(ARGV[5])
  local oldest = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. (now - window), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  local heldUntil = now + window
  if oldest[2] then heldUntil = tonumber(oldest[2]) + window end
  redis.call('HSET', KEYS[2], 'capHeldUntil', heldUntil, 'capHeldText', ARGV[3])
  return { 'held', tostring(heldUntil) }
end

if lesson == 'attempt_limit' then
  local heldUntil = now + tonumber(ARGV[4])
  redis.call('HSET', KEYS[1], 'attemptsHeldUntil', heldUntil)
  return { 'held', tostring(heldUntil) }
end
return redis.error_reply('noteUpstreamRefusal: unknown lesson ' .. lesson)

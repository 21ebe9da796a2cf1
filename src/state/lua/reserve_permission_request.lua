-- reservePermissionRequest: SPEC §7 limits per business+user (per24h in any rolling 24 h,
-- per7d in any rolling 7 days; a connected call clears them). Reserves a slot; the caller
-- removes it again (ZREM) when the request could not be sent.
-- KEYS: 1 permissionRequests  2 perm
-- ARGV: 1 nowMs  2 per24h  3 per7d  4 requestId
-- Returns { status, retryAfterMs } with status reserved|limited|permanent.
local now = tonumber(ARGV[1])
local day, week = 86400000, 604800000
if redis.call('HGET', KEYS[2], 'kind') == 'permanent' then return { 'permanent', '0' } end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - week)
local limits = { { day, tonumber(ARGV[2]) }, { week, tonumber(ARGV[3]) } }
local wait = 0
for _, l in ipairs(limits) do
  local span, cap = l[1], l[2]
  local entries = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - span), '+inf', 'WITHSCORES')
  local count = #entries / 2
  if count >= cap then
    -- The (count - cap + 1)-th oldest request must leave the window before another fits.
    local w = cap == 0 and span or (tonumber(entries[(count - cap) * 2 + 2]) + span - now)
    if w > wait then wait = w end
  end
end
if wait > 0 then return { 'limited', tostring(wait) } end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], week)
return { 'reserved', '0' }

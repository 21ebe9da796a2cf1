-- tenantAdmit: a tenant's own limits (SPEC §2a, §3 tenant_limit), checked before the number's
-- admission (admit_outbound.lua, another hash tag: a tenant spans many numbers). On success the call
-- holds a lease in the tenant's active set (renewed by the instance that has the call, so a crashed
-- instance's calls stop counting once their leases expire) and an entry in its sliding second.
-- The edge gives both back (tenant_release.lua) when the number refuses the call and when it ends.
-- Idempotent per callId: a retry of an admitted id answers ok without counting it twice.
-- KEYS: 1 active  2 rate
-- ARGV: 1 nowMs  2 callId  3 maxConcurrent(0=off)  4 callsPerSecond(0=off)  5 leaseMs
local now = tonumber(ARGV[1])
local callId = ARGV[2]
local maxConcurrent = tonumber(ARGV[3])
local perSecond = tonumber(ARGV[4])
local lease = tonumber(ARGV[5])
if redis.call('ZSCORE', KEYS[1], callId) or redis.call('ZSCORE', KEYS[2], callId) then return { 'ok', '0' } end
if maxConcurrent > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  -- Nothing says when a call will end: the caller may try again in a second.
  if redis.call('ZCARD', KEYS[1]) >= maxConcurrent then return { 'refused', '1000' } end
end
if perSecond > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 1000)
  if redis.call('ZCARD', KEYS[2]) >= perSecond then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return { 'refused', tostring(tonumber(oldest[2]) + 1000 - now) }
  end
  redis.call('ZADD', KEYS[2], now, callId)
  redis.call('PEXPIRE', KEYS[2], 2000)
end
if maxConcurrent > 0 then
  redis.call('ZADD', KEYS[1], now + lease, callId)
  redis.call('PEXPIRE', KEYS[1], 2 * lease)
end
return { 'ok', '0' }

-- admitInbound: a WhatsApp user's call. Takes a concurrency lease and, when enabled, grants the
-- callback permission (never shortening a permanent or a longer temporary one). The grant happens
-- even when the lease is refused: Meta grants it for any user-initiated call.
-- KEYS: 1 active  2 activeUser  3 call  4 perm
-- ARGV: 1 nowMs  2 user  3 callId  4 maxConcurrent  5 leaseMs  6 callTtlMs  7 grantCallback(0/1)
--       8 temporaryMs  9 business number (E.164)
local now = tonumber(ARGV[1])
local lease = tonumber(ARGV[5])
local granted = ''

if ARGV[7] == '1' then
  local p = redis.call('HMGET', KEYS[4], 'kind', 'expiresAt')
  local expiresAt = now + tonumber(ARGV[8])
  if p[1] ~= 'permanent' and not (p[1] == 'temporary' and tonumber(p[2]) >= expiresAt) then
    redis.call('HSET', KEYS[4], 'kind', 'temporary', 'expiresAt', expiresAt, 'source', 'callback', 'updatedAt', now)
    redis.call('HDEL', KEYS[4], 'cause')
    granted = tostring(expiresAt)
  end
end

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return { 'refused', 'concurrency_limit', '0', granted }
end
redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], 'user', ARGV[2], 'number', ARGV[9], 'direction', 'inbound', 'state', 'admitted', 'admittedAt', now)
redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[6]))
return { 'ok', '', '0', granted }

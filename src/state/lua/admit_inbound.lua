-- admitInbound: a WhatsApp user's call. Takes a concurrency lease and, when enabled, grants the
-- callback permission (never shortening a permanent or a longer temporary one). The grant happens
-- even when the lease is refused: Meta grants it for any user-initiated call. A caller the edge
-- cannot key (anonymous, no number) gets the lease and a record, never a permission. A caller
-- named by a BSUID that is known to be a phone number is answered { 'linked', phone }: the caller
-- admits it again under the phone number (checked here, atomically, as grantPermission does).
-- KEYS: 1 active  2 activeUser  3 call  4 perm  5 userIds (BSUID → phone)
-- ARGV: 1 nowMs  2 user  3 callId  4 maxConcurrent  5 leaseMs  6 callTtlMs  7 grantCallback(0/1)
--       8 temporaryMs  9 business number (E.164)  10 identity kind: phone | bsuid | unkeyed
local now = tonumber(ARGV[1])
local lease = tonumber(ARGV[5])
local granted = ''
local keyed = ARGV[10] ~= 'unkeyed'

if ARGV[10] == 'bsuid' then
  local phone = redis.call('HGET', KEYS[5], ARGV[2])
  if phone then return { 'linked', phone, '0', '' } end
end

if keyed and ARGV[7] == '1' then
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
if keyed then redis.call('HSET', KEYS[2], ARGV[2], ARGV[3]) end
redis.call('HSET', KEYS[3], 'user', ARGV[2], 'number', ARGV[9], 'direction', 'inbound', 'state', 'admitted', 'admittedAt', now)
redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[6]))
return { 'ok', '', '0', granted }

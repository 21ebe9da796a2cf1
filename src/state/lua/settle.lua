-- settle: the outcome of one call, applied exactly once whoever calls it and however often.
-- admitted --connected--> connected --ended--> settled
-- admitted --unanswered|failed|ended--> settled
-- KEYS: 1 call  2 active  3 activeUser  4 inflight  5 connected  6 userConnected  7 unanswered
--       8 perm  9 permissionRequests
-- ARGV: 1 nowMs  2 callId  3 outcome  4 nudgeAt(0=off)  5 revokeAt(0=off)  6 leaseMs  7 windowMs
-- Returns { status, consecutiveUnanswered, event } with status applied|duplicate|unknown.
local now = tonumber(ARGV[1])
local callId = ARGV[2]
local outcome = ARGV[3]
local call = redis.call('HMGET', KEYS[1], 'state', 'user', 'direction')
local state, user, direction = call[1], call[2], call[3]
if not state then return { 'unknown', '0', '' } end

local function release()
  redis.call('ZREM', KEYS[2], callId)
  redis.call('ZREM', KEYS[4], callId)
  if redis.call('HGET', KEYS[3], user) == callId then redis.call('HDEL', KEYS[3], user) end
  redis.call('HSET', KEYS[1], 'state', 'settled', 'outcome', outcome, 'settledAt', now)
end

if state == 'admitted' and outcome == 'connected' then
  redis.call('ZREM', KEYS[4], callId)
  if direction == 'outbound' then
    redis.call('ZADD', KEYS[5], now, callId)
    redis.call('ZADD', KEYS[6], now, callId)
    local ttl = tonumber(ARGV[7]) + tonumber(ARGV[6])
    redis.call('PEXPIRE', KEYS[5], ttl)
    redis.call('PEXPIRE', KEYS[6], ttl)
  end
  -- Any connected call, either direction, resets the pair's unanswered run and request limits.
  redis.call('HDEL', KEYS[7], user)
  redis.call('DEL', KEYS[9])
  redis.call('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[6]), callId)
  redis.call('HSET', KEYS[1], 'state', 'connected', 'connectedAt', now)
  return { 'applied', '0', '' }
end

if state == 'admitted' and outcome == 'unanswered' and direction == 'outbound' then
  local count = redis.call('HINCRBY', KEYS[7], user, 1)
  release()
  local event = ''
  if count == tonumber(ARGV[5]) then
    redis.call('HSET', KEYS[8], 'kind', 'none', 'cause', 'unanswered', 'updatedAt', now)
    redis.call('HDEL', KEYS[8], 'expiresAt')
    event = 'revoked'
  elseif count == tonumber(ARGV[4]) then
    event = 'nudged'
  end
  return { 'applied', tostring(count), event }
end

if state == 'admitted' or (state == 'connected' and outcome == 'ended') then
  release()
  return { 'applied', '0', '' }
end
return { 'duplicate', '0', '' }

-- releaseAdmission: gives back an outbound admission the edge will not use (it gave up waiting for
-- Redis's answer, or the caller went away), by its id, whether or not Redis applied it.
-- Idempotent: releasing twice, or an id Redis never saw, changes nothing more. The id is left
-- marked `released` so a late copy of the admission (a client retry) is refused, not reserved.
-- With dropAttempt=1 the attempt leaves the 24 h attempt window too: it never reached Telnyx.
-- KEYS: 1 call  2 active  3 activeUser  4 inflight  5 attempts
-- ARGV: 1 nowMs  2 callId  3 callTtlMs  4 dropAttempt(0/1)
-- Returns 'released' when it freed a reservation, 'none' otherwise.
local callId = ARGV[2]
local call = redis.call('HMGET', KEYS[1], 'state', 'user')
local state, user = call[1], call[2]
if state == 'admitted' or state == 'connected' then
  redis.call('ZREM', KEYS[2], callId)
  redis.call('ZREM', KEYS[4], callId)
  if ARGV[4] == '1' then redis.call('ZREM', KEYS[5], callId) end
  if user and redis.call('HGET', KEYS[3], user) == callId then redis.call('HDEL', KEYS[3], user) end
  redis.call('HSET', KEYS[1], 'state', 'released', 'releasedAt', ARGV[1])
  return 'released'
end
if not state then
  redis.call('HSET', KEYS[1], 'state', 'released', 'releasedAt', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return 'none'

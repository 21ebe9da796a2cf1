-- renewLeases: a live instance extends the leases of its calls on one number. A lease that has
-- already expired is not revived (ZADD XX GT keeps a dead lease from being renewed by a stale timer:
-- the call no longer counts and its settle will find it released).
-- KEYS: 1 active  2 inflight
-- ARGV: 1 nowMs  2 leaseMs  3.. callIds
local now = tonumber(ARGV[1])
local expiry = now + tonumber(ARGV[2])
local renewed = 0
for i = 3, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) > now then
    redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[i])
    redis.call('ZADD', KEYS[2], 'XX', expiry, ARGV[i])
    renewed = renewed + 1
  end
end
return renewed

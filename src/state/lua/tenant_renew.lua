-- tenantRenew: a live instance extends the tenant leases of its calls (as renew_leases.lua does per
-- number). An expired lease is not revived: that call no longer counts.
-- KEYS: 1 active
-- ARGV: 1 nowMs  2 leaseMs  3.. callIds
local now = tonumber(ARGV[1])
local expiry = now + tonumber(ARGV[2])
local renewed = 0
for i = 3, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) > now then
    redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[i])
    renewed = renewed + 1
  end
end
if renewed > 0 then redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[2])) end
return renewed

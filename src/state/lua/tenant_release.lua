-- tenantRelease: gives back a call's place in its tenant's limits (tenant_admit.lua): when the
-- number refused it, and when it ended. Idempotent: releasing twice, or an id never admitted, is a no-op.
-- A refused call was no call: its second is given back too; an ended call keeps it (it was placed).
-- KEYS: 1 active  2 rate
-- ARGV: 1 callId  2 refused(0/1)
local n = redis.call('ZREM', KEYS[1], ARGV[1])
if ARGV[2] == '1' then n = n + redis.call('ZREM', KEYS[2], ARGV[1]) end
return n

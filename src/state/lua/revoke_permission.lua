-- revokePermission: the user (or an operator acting for them) withdrew it. Returns the previous kind.
-- KEYS: 1 perm
-- ARGV: 1 nowMs  2 cause
local prev = redis.call('HGET', KEYS[1], 'kind') or 'none'
redis.call('HSET', KEYS[1], 'kind', 'none', 'cause', ARGV[2], 'updatedAt', ARGV[1])
redis.call('HDEL', KEYS[1], 'expiresAt')
return prev

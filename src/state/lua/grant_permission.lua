-- grantPermission: temporary (with expiry) or permanent. Returns the previous kind.
-- KEYS: 1 perm
-- ARGV: 1 nowMs  2 kind  3 expiresAtMs (temporary)  4 source
local prev = redis.call('HGET', KEYS[1], 'kind') or 'none'
if ARGV[2] == 'permanent' then
  redis.call('HSET', KEYS[1], 'kind', 'permanent', 'source', ARGV[4], 'updatedAt', ARGV[1])
  redis.call('HDEL', KEYS[1], 'expiresAt', 'cause')
else
  redis.call('HSET', KEYS[1], 'kind', 'temporary', 'expiresAt', ARGV[3], 'source', ARGV[4], 'updatedAt', ARGV[1])
  redis.call('HDEL', KEYS[1], 'cause')
end
return prev

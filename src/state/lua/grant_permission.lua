-- grantPermission: temporary (with expiry) or permanent. Returns { 'ok', previous kind }, or
-- { 'linked', phone } when the user was named by a BSUID that is known to be that phone number
-- (the caller grants under the phone number then: checked here, atomically with the write, so a
-- grant never lands under a BSUID that linkUserIdentity has just folded into its phone number).
-- KEYS: 1 perm  2 userIds (BSUID → phone)
-- ARGV: 1 nowMs  2 kind  3 expiresAtMs (temporary)  4 source  5 BSUID ('' for a phone number)
if ARGV[5] ~= '' then
  local phone = redis.call('HGET', KEYS[2], ARGV[5])
  if phone then return { 'linked', phone } end
end
local prev = redis.call('HGET', KEYS[1], 'kind') or 'none'
if ARGV[2] == 'permanent' then
  redis.call('HSET', KEYS[1], 'kind', 'permanent', 'source', ARGV[4], 'updatedAt', ARGV[1])
  redis.call('HDEL', KEYS[1], 'expiresAt', 'cause')
else
  redis.call('HSET', KEYS[1], 'kind', 'temporary', 'expiresAt', ARGV[3], 'source', ARGV[4], 'updatedAt', ARGV[1])
  redis.call('HDEL', KEYS[1], 'cause')
end
return { 'ok', prev }

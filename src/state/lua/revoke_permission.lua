-- revokePermission: the user (or an operator acting for them) withdrew it. Returns { 'ok',
-- previous kind }, or { 'linked', phone } for a BSUID known to be that phone number (as grantPermission).
-- KEYS: 1 perm  2 userIds (BSUID → phone)
-- ARGV: 1 nowMs  2 cause  3 bsuid ('' for a phone number)
if ARGV[3] ~= '' then
  local phone = redis.call('HGET', KEYS[2], ARGV[3])
  if phone then return { 'linked', phone } end
end
local prev = redis.call('HGET', KEYS[1], 'kind') or 'none'
redis.call('HSET', KEYS[1], 'kind', 'none', 'cause', ARGV[2], 'updatedAt', ARGV[1])
redis.call('HDEL', KEYS[1], 'expiresAt')
return { 'ok', prev }

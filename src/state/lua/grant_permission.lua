-- grantPermission: temporary (with expiry) or permanent. Returns { 'ok', previous kind }, or
-- { 'linked', phone } when the user was named by a BSUID that is known to be that phone number
-- (the caller grants under the phone number then: checked here, atomically with the write, so a
-- grant never lands under a BSUID that linkUserIdentity has just folded into its phone number),
-- or, with keepStronger, { 'kept', kind, expiresAt, source } when the pair already holds at least
-- as much (a seed never shortens or weakens what the edge has seen, so applying it twice changes nothing).
-- KEYS: 1 perm  2 userIds (BSUID → phone)
-- ARGV: 1 nowMs  2 kind  3 expiresAtMs (temporary)  4 source  5 bsuid ('' for a phone number)
--       6 keepStronger ('1' or '')  7 expiryDefaulted ('1': any live temporary is enough)
if ARGV[5] ~= '' then
  local phone = redis.call('HGET', KEYS[2], ARGV[5])
  if phone then return { 'linked', phone } end
end
if ARGV[6] == '1' then
  local held = redis.call('HMGET', KEYS[1], 'kind', 'expiresAt', 'source')
  if held[1] == 'permanent' then return { 'kept', 'permanent', '', held[3] or '' } end
  if held[1] == 'temporary' and ARGV[2] == 'temporary' and tonumber(held[2]) > tonumber(ARGV[1])
    and (ARGV[7] == '1' or tonumber(held[2]) >= tonumber(ARGV[3])) then
    return { 'kept', 'temporary', held[2], held[3] or '' }
  end
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

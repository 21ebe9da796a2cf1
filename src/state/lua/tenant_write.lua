-- tenantWrite: one change to the tenants' configuration (SPEC §2a), applied only when the version
-- is still the one the writer read and validated against (src/tenants/store.ts), then the version
-- moves on and every instance's poll picks the change up (src/tenants/watcher.ts). A write that lost
-- the race changes nothing and answers `conflict`; the writer reads, validates and tries again.
-- All keys share the {tenants} hash tag.
-- KEYS: 1 version  2 tenants  3 tokens
-- ARGV: 1 expectedVersion  2.. writes
-- writes: triples of (t = tenants | k = tokens, field, value); an empty value deletes the field.
local current = redis.call('GET', KEYS[1]) or '0'
if current ~= ARGV[1] then return { 'conflict', current } end
for i = 2, #ARGV, 3 do
  local hash = ARGV[i] == 't' and KEYS[2] or KEYS[3]
  if ARGV[i + 2] == '' then
    redis.call('HDEL', hash, ARGV[i + 1])
  else
    redis.call('HSET', hash, ARGV[i + 1], ARGV[i + 2])
  end
end
return { 'ok', tostring(redis.call('INCR', KEYS[1])) }

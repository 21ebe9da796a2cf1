-- registerContacts: a softphone's registrations (RFC 3261 §10.3), shared by all instances.
-- Drops expired bindings, applies the change, and returns what is left.
-- KEYS: 1 contacts (hash uri → json)  2 expiry (zset uri → expiresAtMs)
-- ARGV: 1 nowMs  2 op (set|remove|clear|list)  3.. contacts: for set uri, json, expiresAtMs, ... (expiresAtMs <= nowMs removes); for remove uri, ...
-- Returns a flat list: json1, expiresAt1, json2, expiresAt2, ...
local now = tonumber(ARGV[1])
local op = ARGV[2]
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, uri in ipairs(expired) do redis.call('HDEL', KEYS[1], uri) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)

if op == 'set' then
  for i = 3, #ARGV, 3 do
    if tonumber(ARGV[i + 2]) <= now then
      -- expires=0 on this Contact (others of the same REGISTER may be set): removed
      redis.call('HDEL', KEYS[1], ARGV[i])
      redis.call('ZREM', KEYS[2], ARGV[i])
    else
      redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
      redis.call('ZADD', KEYS[2], tonumber(ARGV[i + 2]), ARGV[i])
    end
  end
elseif op == 'remove' then
  for i = 3, #ARGV do
    redis.call('HDEL', KEYS[1], ARGV[i])
    redis.call('ZREM', KEYS[2], ARGV[i])
  end
elseif op == 'clear' then
  redis.call('DEL', KEYS[1], KEYS[2])
end

local out = {}
local rows = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = 1, #rows, 2 do
  table.insert(out, redis.call('HGET', KEYS[1], rows[i]))
  table.insert(out, rows[i + 1])
end
-- The longest binding bounds how long the keys are needed (relative: the caller's clock is ours).
local last = rows[#rows]
if last then
  local ttl = math.max(1, math.floor(tonumber(last) - now))
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return out

-- linkUserIdentity: a webhook named both a user's phone number and their business-scoped user id
-- (BSUID): from now on they are one user, keyed by the phone number. A permission kept under the
-- BSUID alone (a reply that named only it, a call from it) moves to the phone number unless the
-- phone number's own is newer. A user who changed number gets a new BSUID from Meta, so a BSUID
-- names one phone number: the latest link wins.
-- KEYS: 1 userIds (BSUID → phone)  2 userBsuids (phone → BSUID)  3 bsuidPerm (of the BSUID)  4 phonePerm (of the phone)
-- ARGV: 1 bsuid  2 phone (E.164)
-- Returns { 'new'|'known', moved (0/1) }.
local previous = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
if previous and previous ~= ARGV[2] and redis.call('HGET', KEYS[2], previous) == ARGV[1] then
  redis.call('HDEL', KEYS[2], previous)
end

local moved = 0
if redis.call('EXISTS', KEYS[3]) == 1 then
  local bsuidAt = tonumber(redis.call('HGET', KEYS[3], 'updatedAt') or '0') or 0
  local phoneAt = tonumber(redis.call('HGET', KEYS[4], 'updatedAt') or '-1') or -1
  if bsuidAt > phoneAt then
    redis.call('DEL', KEYS[4])
    redis.call('HSET', KEYS[4], unpack(redis.call('HGETALL', KEYS[3])))
    moved = 1
  end
  redis.call('DEL', KEYS[3])
end
return { previous == ARGV[2] and 'known' or 'new', tostring(moved) }

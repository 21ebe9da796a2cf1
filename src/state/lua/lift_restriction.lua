-- liftRestriction: an operator says Meta lifted the restriction early (DELETE
-- /v1/numbers/{number}/restriction). Clears the restriction and the warning, and keeps who lifted
-- it and when (liftedAt, liftedBy). Returns { 'lifted', the restrictedUntil it had } when one was
-- in force, else { 'none', '' } (nothing changed but the warning).
-- KEYS: 1 number
-- ARGV: 1 nowMs  2 by
local untilMs = redis.call('HGET', KEYS[1], 'restrictedUntil')
redis.call('HDEL', KEYS[1], 'warning', 'warningSource', 'warningAt')
if untilMs and tonumber(untilMs) > tonumber(ARGV[1]) then
  redis.call('HDEL', KEYS[1], 'restrictedUntil', 'restrictionTypes', 'restrictionSource', 'restrictedAt')
  redis.call('HSET', KEYS[1], 'liftedAt', ARGV[1], 'liftedBy', ARGV[2])
  return { 'lifted', untilMs }
end
return { 'none', '' }

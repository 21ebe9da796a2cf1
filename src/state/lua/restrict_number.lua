-- restrictNumber: Meta's notice about a business number, from its webhook (account_update) or
-- Telnyx's. kind 'restrict': business-initiated calls are refused account_restricted until untilMs
-- (admit_outbound.lua reads restrictedUntil); a later notice replaces an earlier one, so a
-- redelivery changes nothing. kind 'warn': a warning shown beside the number (ACCOUNT_VIOLATION,
-- or a restriction of something other than calling), enforced nowhere.
-- Fields of the number's hash (the calling toggle lives there too): restrictedUntil,
-- restrictionTypes, restrictionSource, restrictedAt; warning, warningSource, warningAt.
-- Returns { 'restricted', previous restrictedUntil or '' } or { 'warned', '' }.
-- KEYS: 1 number
-- ARGV: 1 nowMs  2 kind  3 untilMs  4 detail (types, or the warning's text)  5 source
if ARGV[2] == 'restrict' then
  local before = redis.call('HGET', KEYS[1], 'restrictedUntil') or ''
  redis.call('HSET', KEYS[1], 'restrictedUntil', ARGV[3], 'restrictionTypes', ARGV[4], 'restrictionSource', ARGV[5], 'restrictedAt', ARGV[1])
  return { 'restricted', before }
end
redis.call('HSET', KEYS[1], 'warning', ARGV[4], 'warningSource', ARGV[5], 'warningAt', ARGV[1])
return { 'warned', '' }

-- setTelnyxCalling: what Telnyx said of a number's WhatsApp calling switch (calling_settings),
-- read by one instance for all (admit_outbound.lua's calling_disabled check reads telnyxCalling).
-- An answer to a question asked before the last one recorded never overwrites it: a poll that
-- started before an operator's PATCH cannot undo it. A failed read (enabled '') keeps the last
-- known state and records only the error, so an outage of Telnyx's API never blocks calls.
-- KEYS: 1 number
-- ARGV: 1 nowMs  2 askedAtMs  3 enabled ('1'|'0'|'' on failure)  4 error
local held = tonumber(redis.call('HGET', KEYS[1], 'telnyxCallingAskedAt') or '0')
if tonumber(ARGV[2]) < held then return { 'stale' } end
if ARGV[3] == '' then
  redis.call('HSET', KEYS[1], 'telnyxCallingError', ARGV[4], 'telnyxCallingErrorAt', ARGV[1])
  return { 'error' }
end
redis.call('HSET', KEYS[1], 'telnyxCalling', ARGV[3], 'telnyxCallingAt', ARGV[1], 'telnyxCallingAskedAt', ARGV[2], 'telnyxCallingError', '')
return { 'recorded' }

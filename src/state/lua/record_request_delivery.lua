-- recordRequestDelivery: a delivery event of a message sent through Telnyx (message.sent,
-- message.finalized). A later state never goes back: sent < delivered/failed/unconfirmed (final),
-- whatever order the webhooks arrive in. A message id no request has claimed yet is kept for
-- earlyTtlMs (the event may beat the send's own answer); one that stays unclaimed expires.
-- KEYS: 1 delivery
-- ARGV: 1 nowMs  2 status  3 error  4 ttlMs  5 earlyTtlMs
-- Returns { 'recorded'|'stale', user or '' }.
local rank = { sent = 1, delivered = 2, failed = 2, unconfirmed = 2 }
local held = redis.call('HMGET', KEYS[1], 'user', 'status')
local user = held[1] or ''
if held[2] and (rank[held[2]] or 0) >= (rank[ARGV[2]] or 0) then return { 'stale', user } end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'statusAt', ARGV[1], 'error', ARGV[3])
redis.call('PEXPIRE', KEYS[1], user ~= '' and tonumber(ARGV[4]) or tonumber(ARGV[5]))
return { 'recorded', user }

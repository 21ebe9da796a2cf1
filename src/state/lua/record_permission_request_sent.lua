-- recordPermissionRequestSent: a permission request the channel accepted (after
-- reserve_permission_request.lua counted it): the user's last request, and the user its
-- message id belongs to, so Telnyx's delivery webhooks (record_request_delivery.lua) find it.
-- A delivery event that arrived before this (Telnyx is fast) is already in KEYS[2] and stays.
-- KEYS: 1 last  2 delivery
-- ARGV: 1 nowMs  2 user  3 channel  4 kind  5 messageId  6 ttlMs
local ttl = tonumber(ARGV[6])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'channel', ARGV[3], 'kind', ARGV[4], 'messageId', ARGV[5], 'sentAt', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[2], 'user', ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return { 'recorded' }

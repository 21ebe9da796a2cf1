-- admitOutbound / explainOutbound: the state checks of SPEC §3, in order, in one round trip.
-- mode "admit": stops at the first failing check; on success records the attempt, the in-flight
--   reservation and the active-call lease.
-- mode "explain": runs every check, writes nothing (GET /v1/decisions).
-- All keys share the business number's {hash tag}.
-- Idempotent per callId (the admission id, made by the edge before the first try): a retry of an
-- id Redis already answered returns that answer's reservation instead of reserving again, and an
-- id the edge released (release_admission.lua) stays refused.
-- KEYS: 1 number  2 perm  3 unanswered  4 active  5 activeUser  6 inflight  7 connected
--       8 userConnected  9 attempts  10 call
-- ARGV: 1 nowMs  2 user  3 callId  4 regionBlocked(0/1)  5 callingDefault(0/1)  6 stopAt(0=off)
--       7 maxConcurrent  8 perNumberCap(0=off)  9 perUserCap(0=off)  10 attemptsCap(0=off)
--       11 windowMs  12 leaseMs  13 callTtlMs  14 mode  15 business number (E.164)
local now = tonumber(ARGV[1])
local user = ARGV[2]
local callId = ARGV[3]
local window = tonumber(ARGV[11])
local lease = tonumber(ARGV[12])
local explain = ARGV[14] == 'explain'
local since = '(' .. (now - window)
local live = '(' .. now
local event = ''

if not explain then
  local earlier = redis.call('HGET', KEYS[10], 'state')
  if earlier == 'admitted' or earlier == 'connected' then return { 'ok', '', '0', '' } end
  if earlier then return { 'released', '', '0', '' } end
end

-- Seconds until the `need`-th oldest entry of a rolling window leaves it.
local function untilFreed(key, need)
  local row = redis.call('ZRANGEBYSCORE', key, since, '+inf', 'WITHSCORES', 'LIMIT', need - 1, 1)
  if row[2] then return tonumber(row[2]) + window - now end
  return lease
end

local checks = {
  { 'calling_disabled', function()
      -- With telnyx.api, Telnyx's own switch too (set_telnyx_calling.lua); not known yet counts as on.
      if redis.call('HGET', KEYS[1], 'telnyxCalling') == '0' then return false end
      local v = redis.call('HGET', KEYS[1], 'calling')
      if v == false then v = ARGV[5] end
      return v == '1'
    end },
  -- Meta restricted business-initiated calling (restrict_number.lua): refused until it ends.
  { 'account_restricted', function()
      local untilMs = tonumber(redis.call('HGET', KEYS[1], 'restrictedUntil') or '0')
      if untilMs > now then return false, untilMs - now end
      return true
    end },
  { 'region_blocked', function() return ARGV[4] ~= '1' end },
  { 'no_permission', function()
      local p = redis.call('HMGET', KEYS[2], 'kind', 'expiresAt')
      if p[1] == 'permanent' then return true end
      if p[1] == 'temporary' then
        if tonumber(p[2]) > now then return true end
        if not explain then
          redis.call('HSET', KEYS[2], 'kind', 'none', 'cause', 'expired', 'updatedAt', now)
          event = 'expired'
        end
      end
      return false
    end },
  { 'unanswered_guard', function()
      local stopAt = tonumber(ARGV[6])
      if stopAt == 0 then return true end
      return tonumber(redis.call('HGET', KEYS[3], user) or '0') < stopAt
    end },
  { 'user_busy', function()
      local other = redis.call('HGET', KEYS[5], user)
      if not other then return true end
      local expiry = redis.call('ZSCORE', KEYS[4], other)
      return not (expiry and tonumber(expiry) > now)
    end },
  { 'concurrency_limit', function()
      return redis.call('ZCOUNT', KEYS[4], live, '+inf') < tonumber(ARGV[7])
    end },
  { 'daily_limit', function()
      local cap = tonumber(ARGV[8])
      if cap > 0 then
        local connected = redis.call('ZCOUNT', KEYS[7], since, '+inf')
        local count = connected + redis.call('ZCOUNT', KEYS[6], live, '+inf')
        if count >= cap then
          local need = count - cap + 1
          if need <= connected then return false, untilFreed(KEYS[7], need) end
          return false, lease
        end
      end
      cap = tonumber(ARGV[9])
      if cap > 0 then
        -- One active call per user (user_busy) means this user has no other reservation in flight.
        local count = redis.call('ZCOUNT', KEYS[8], since, '+inf')
        if count >= cap then return false, untilFreed(KEYS[8], count - cap + 1) end
      end
      -- Meta said this pair's cap is reached (note_upstream_refusal.lua), whatever the edge counted.
      local held = tonumber(redis.call('HGET', KEYS[2], 'capHeldUntil') or '0')
      if held > now then return false, held - now end
      return true
    end },
  { 'attempt_limit', function()
      -- Meta said the number's call rate is reached, for this long (note_upstream_refusal.lua).
      local held = tonumber(redis.call('HGET', KEYS[1], 'attemptsHeldUntil') or '0')
      if held > now then return false, held - now end
      local cap = tonumber(ARGV[10])
      if cap == 0 then return true end
      local count = redis.call('ZCOUNT', KEYS[9], since, '+inf')
      if count >= cap then return false, untilFreed(KEYS[9], count - cap + 1) end
      return true
    end },
}

local report = {}
local firstReason, firstRetry = '', 0
for _, check in ipairs(checks) do
  local ok, retryMs = check[2]()
  if not ok then
    if firstReason == '' then firstReason, firstRetry = check[1], retryMs or 0 end
    if not explain then return { 'refused', firstReason, tostring(firstRetry), event } end
  end
  if explain then
    table.insert(report, check[1])
    table.insert(report, ok and 'pass' or 'fail')
  end
end
if explain then
  return { firstReason == '' and 'ok' or 'refused', firstReason, tostring(firstRetry), '', unpack(report) }
end

-- Admitted: drop what has left the windows, then reserve.
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[9], '-inf', now - window)
redis.call('ZADD', KEYS[9], now, callId)
redis.call('ZADD', KEYS[6], now + lease, callId)
redis.call('ZADD', KEYS[4], now + lease, callId)
redis.call('HSET', KEYS[5], user, callId)
redis.call('HSET', KEYS[10], 'user', user, 'number', ARGV[15], 'direction', 'outbound', 'state', 'admitted', 'admittedAt', now)
redis.call('PEXPIRE', KEYS[10], tonumber(ARGV[13]))
-- Idle numbers and users leave nothing behind once their windows are empty.
for _, k in ipairs({ KEYS[7], KEYS[8], KEYS[9] }) do redis.call('PEXPIRE', k, window + lease) end
return { 'ok', '', '0', event }

-- tenantRead: the tenants' configuration and tokens at one version, read together so an instance
-- never applies tenants of one version with tokens of another.
-- KEYS: 1 version  2 tenants  3 tokens
return { redis.call('GET', KEYS[1]) or '0', redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3]) }

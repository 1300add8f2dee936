/**
 * Lua for the callback due-queue. The queue's keys share the hash tag `{cbq}` (one cluster slot for the whole
 * queue, separate from the tenants' slots). Every key a script touches is passed in KEYS. Time comes from Redis TIME, so replicas with skewed clocks agree on what is due.
 */

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS: due, job. ARGV: id, ttlSec, then field/value pairs. Returns 1 when queued, 0 for a duplicate. */
export const ENQUEUE = `${NOW}
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[2], 'stage', 'confirm', 'attempts', '0', 'lease', '', 'state', 'queued', unpack(fields))
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
return 1`;

/** KEYS: due. ARGV: limit. The ids due now (Redis time), oldest first; claiming is a second, per-job step. */
export const DUE = `${NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))`;

/**
 * KEYS: due, job. ARGV: id, leaseMs, lease. Claims one job if it is still due (another replica's claim has
 * moved its score past now) and still queued; returns its fields plus `id`, or nil.
 */
export const CLAIM = `${NOW}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) > now then return nil end
if redis.call('HGET', KEYS[2], 'state') ~= 'queued' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return nil
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], 'lease', ARGV[3])
local fields = redis.call('HGETALL', KEYS[2])
fields[#fields + 1] = 'id'
fields[#fields + 1] = ARGV[1]
return fields`;

/** KEYS: due, job. ARGV: id, lease, delayMs, stage, attempts, envelope ('' = none). 1 = done, 0 = lease lost. */
export const RESCHEDULE = `${NOW}
if redis.call('HGET', KEYS[2], 'lease') ~= ARGV[2] or redis.call('HGET', KEYS[2], 'state') ~= 'queued' then
  return 0
end
redis.call('HSET', KEYS[2], 'stage', ARGV[4], 'attempts', ARGV[5], 'lease', '')
if ARGV[6] == '' then redis.call('HDEL', KEYS[2], 'envelope') else redis.call('HSET', KEYS[2], 'envelope', ARGV[6]) end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
return 1`;

/** KEYS: due, job. ARGV: id, lease, keep ('tombstone' | 'forget'). 1 = done, 0 = lease lost. */
export const FINISH = `if redis.call('HGET', KEYS[2], 'lease') ~= ARGV[2] or redis.call('HGET', KEYS[2], 'state') ~= 'queued' then
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])
if ARGV[3] == 'forget' then
  redis.call('DEL', KEYS[2])
else
  redis.call('HSET', KEYS[2], 'state', 'done', 'lease', '')
  redis.call('HDEL', KEYS[2], 'envelope', 'callbackBody')
end
return 1`;

export const CALLBACK_SCRIPTS = {
  callbackEnqueue: ENQUEUE,
  callbackDue: DUE,
  callbackClaim: CLAIM,
  callbackReschedule: RESCHEDULE,
  callbackFinish: FINISH,
} as const;

export type CallbackScript = keyof typeof CALLBACK_SCRIPTS;

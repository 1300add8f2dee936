/**
 * Lua for the callback due-queue. The queue's keys share the hash tag `{cbq}` (one cluster slot for the whole
 * queue, separate from the tenants' slots): the due zset is declared, and job hashes are `<jobPrefix><id>` in
 * the same slot. Time comes from Redis TIME, so replicas with skewed clocks agree on what is due.
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

/** KEYS: due. ARGV: leaseMs, limit, jobPrefix, lease. Returns the claimed jobs as flat HGETALL arrays. */
export const CLAIM = `${NOW}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  local key = ARGV[3] .. id
  if redis.call('HGET', key, 'state') ~= 'queued' then
    redis.call('ZREM', KEYS[1], id)
  else
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), id)
    redis.call('HSET', key, 'lease', ARGV[4])
    local fields = redis.call('HGETALL', key)
    fields[#fields + 1] = 'id'
    fields[#fields + 1] = id
    out[#out + 1] = fields
  end
end
return out`;

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
  callbackClaim: CLAIM,
  callbackReschedule: RESCHEDULE,
  callbackFinish: FINISH,
} as const;

export type CallbackScript = keyof typeof CALLBACK_SCRIPTS;

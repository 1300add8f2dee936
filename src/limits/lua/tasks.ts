import { LUA_ACCOUNT } from "./account.js";
import { LUA_COMMON } from "./common.js";

/**
 * Ledger scripts. A ledger record stays `pending` until settled; a pending record whose `t:` slot is no longer
 * in the in-flight zset was expired (the sweep touches only the zset, so it needs no per-task keys).
 * Replies that carry a record end with: inFlight flag (1/0), then HGETALL pairs.
 */

function withRecord(body: string): string {
  return `${LUA_COMMON}
local function record(task, inflight, task_id)
  local fields = redis.call('HGETALL', task)
  if #fields == 0 then return { 0 } end
  local live = 0
  if redis.call('ZSCORE', inflight, 't:' .. task_id) then live = 1 end
  local out = { live }
  for _, v in ipairs(fields) do out[#out + 1] = v end
  return out
end
${body}`;
}

function appendRecord(head: string): string {
  return `local reply = ${head}
for _, v in ipairs(rec) do reply[#reply + 1] = v end
return reply`;
}

/** KEYS: task, inflight, inflightModels, (idem). ARGV: taskId, tenantId, model, cost, day, reservationId,
 * upstream, ttlSec, idemTtlSec, status, contentType, bodyBase64. Reply: { 1 } if written, { 0 } if already recorded. */
export const LUA_RECORD_TASK = `${LUA_COMMON}
local task, inflight, models, idem = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
if redis.call('EXISTS', task) == 1 then return { 0 } end
local reservation = ARGV[6]
local now = now_ms()
local state = 'pending'
local admitted_at = redis.call('ZSCORE', inflight, 'r:' .. reservation)
if admitted_at then
  redis.call('ZREM', inflight, 'r:' .. reservation)
  redis.call('HDEL', models, 'r:' .. reservation)
  redis.call('ZADD', inflight, admitted_at, 't:' .. ARGV[1])
  redis.call('HSET', models, 't:' .. ARGV[1], ARGV[3])
else
  -- The reservation outlived the max age and its slot was already given back: record it as expired.
  state = 'expired'
end
redis.call('HSET', task, 'taskId', ARGV[1], 'tenantId', ARGV[2], 'model', ARGV[3], 'cost', ARGV[4], 'day', ARGV[5],
  'res', reservation, 'upstream', ARGV[7], 'submittedAt', int(now), 'state', state, 'refunded', '0')
redis.call('EXPIRE', task, ARGV[8])
if idem then
  local holder = redis.call('HGET', idem, 'res')
  if not holder or holder == reservation then
    redis.call('DEL', idem)
    redis.call('HSET', idem, 'state', 'done', 'res', reservation, 'status', ARGV[10], 'ctype', ARGV[11], 'body', ARGV[12])
    redis.call('EXPIRE', idem, ARGV[9])
  end
end
return { 1 }
`;

/** KEYS: inflight, inflightModels, spend(day), spendByModel(day), (idem), (account inflight).
 * ARGV: reservationId, model, cost, '1' when the last key is the account's in-flight set. */
export const LUA_RELEASE = `${LUA_COMMON}
local inflight, models, spend, by_model, idem = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
if ARGV[4] == '1' then
  redis.call('ZREM', KEYS[#KEYS], ARGV[1])
  if #KEYS == 5 then idem = nil end
end
local member = 'r:' .. ARGV[1]
local released = redis.call('ZREM', inflight, member)
if released == 1 then
  redis.call('HDEL', models, member)
  redis.call('DECRBY', spend, ARGV[3])
  if tonumber(ARGV[3]) > 0 then add_model(by_model, ARGV[2], '-' .. ARGV[3]) end
end
if idem then
  local h = redis.call('HMGET', idem, 'state', 'res')
  if h[1] == 'held' and h[2] == ARGV[1] then redis.call('DEL', idem) end
end
return { released }
`;

/** KEYS: task, inflight, buckets[n], (account bucket, account inflight).
 * ARGV: taskId, n, (name, rate, burst) x n, (account: see account.ts). The record carries the cached answer. */
export const LUA_ADMIT_STATUS = withRecord(`${LUA_ACCOUNT}
local now = now_ms()
local n = tonumber(ARGV[2])
local buckets = read_buckets(3, n, 3, now)
local limited = rate_limited(buckets)
if limited then return limited end
local rec = record(KEYS[1], KEYS[2], ARGV[1])
-- The account's token pays for an APIXO call: none is made for someone else's task or a cached answer.
if ARGV[3 + 3 * n] and #rec > 1 and redis.call('HEXISTS', KEYS[1], 'ansStatus') == 0 then
  local acct = account_open(3 + n, 3 + 3 * n, now)
  local denied = account_denial(acct, nil, tightest(buckets, 0))
  if denied then return denied end
  account_take(acct, now, nil, nil)
end
take(buckets, now)
local rate = tightest(buckets, 1)
${appendRecord("{ 'admitted', rate[1], rate[2], rate[3] }")}
`);

/** KEYS: buckets[n]. ARGV: n, (name, rate, burst) x n. */
export const LUA_ADMIT_SIMPLE = `${LUA_COMMON}
local now = now_ms()
local buckets = read_buckets(1, tonumber(ARGV[1]), 2, now)
local limited = rate_limited(buckets)
if limited then return limited end
take(buckets, now)
local rate = tightest(buckets, 1)
return { 'admitted', rate[1], rate[2], rate[3] }
`;

/** KEYS: task, inflight. ARGV: taskId. */
export const LUA_GET_TASK = withRecord(`
return record(KEYS[1], KEYS[2], ARGV[1])
`);

/** KEYS: task, inflight, inflightModels, spend(day), spendByModel(day), refund(day), (account inflight).
 * ARGV: taskId, state, failCode, refund '1'|'0', day, dayTtlSec, answerStatus|'', answerCtype, answerBase64.
 * Reply: settled, refunded, slotReleased, record. A task settled without an answer gets it stored now. */
export const LUA_SETTLE = withRecord(`
local task, inflight, models = KEYS[1], KEYS[2], KEYS[3]
local h = redis.call('HMGET', task, 'state', 'cost', 'model', 'day', 'res')
local answer = ARGV[7] and ARGV[7] ~= ''
local rec
if not h[1] or h[1] == 'success' or h[1] == 'failed' then
  if h[1] and answer and redis.call('HEXISTS', task, 'ansStatus') == 0 then
    redis.call('HSET', task, 'ansStatus', ARGV[7], 'ansCtype', ARGV[8], 'ansBody', ARGV[9])
  end
  rec = record(task, inflight, ARGV[1])
  ${appendRecord("{ 0, 0, 0 }")}
end
if h[4] ~= ARGV[5] then return redis.error_reply('settle: day keys do not match the ledger') end
local member = 't:' .. ARGV[1]
local slot = redis.call('ZREM', inflight, member)
redis.call('HDEL', models, member)
if KEYS[7] and h[5] then redis.call('ZREM', KEYS[7], h[5]) end
if answer then redis.call('HSET', task, 'ansStatus', ARGV[7], 'ansCtype', ARGV[8], 'ansBody', ARGV[9]) end
local refunded = 0
if ARGV[2] == 'failed' and ARGV[4] == '1' and tonumber(h[2]) > 0 then
  redis.call('DECRBY', KEYS[4], h[2])
  add_model(KEYS[5], h[3], '-' .. h[2])
  redis.call('INCRBY', KEYS[6], h[2])
  for i = 4, 6 do redis.call('EXPIRE', KEYS[i], ARGV[6]) end
  redis.call('HSET', task, 'refunded', h[2])
  refunded = tonumber(h[2])
end
redis.call('HSET', task, 'state', ARGV[2], 'settledAt', int(now_ms()))
if ARGV[3] ~= '' then redis.call('HSET', task, 'failCode', ARGV[3]) end
rec = record(task, inflight, ARGV[1])
${appendRecord("{ 1, refunded, slot }")}
`);

/** KEYS: inflight, inflightModels. ARGV: maxAgeMs. Reply: taskId, model pairs of expired tasks. */
export const LUA_SWEEP = `${LUA_COMMON}
local inflight, models = KEYS[1], KEYS[2]
local cutoff = now_ms() - tonumber(ARGV[1])
local out = {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', inflight, '-inf', int(cutoff))) do
  local m = redis.call('HGET', models, member) or ''
  redis.call('ZREM', inflight, member)
  redis.call('HDEL', models, member)
  if string.sub(member, 1, 2) == 't:' then
    out[#out + 1] = string.sub(member, 3)
    out[#out + 1] = m
  end
end
return out
`;

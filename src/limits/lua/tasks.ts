import { LUA_ACCOUNT } from "./account.js";
import { LUA_COMMON } from "./common.js";
import { layout } from "./layout.js";
import { LUA_RESERVATIONS } from "./reservations.js";
import { DAY_KEYS, LUA_SPEND } from "./spend.js";

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

export const RECORD_KEYS = layout("K", [
  "task",
  "inflight",
  "models",
  "resv",
  "tomb",
  "tasks",
  "idem",
  // The day block of `day` (spend.ts).
  "spend",
  "spendm",
  "usage",
  "mspend",
  "musage",
]);
export const RECORD_ARGS = layout("A", [
  "taskId",
  "tenantId",
  "model",
  "cost",
  "day",
  "reservation",
  "upstream",
  "ttlSec",
  "idem",
  "idemTtlSec",
  "status",
  "ctype",
  "body",
  "tombTtlSec",
  "traceparent",
  "user",
  "feature",
]);

/**
 * recordTask, for one task or several (a batch of the records made in one event-loop turn: ledger/writer.ts).
 * Each task is a block of KEYS (RECORD_KEYS) and a block of ARGV (RECORD_ARGS), in the same order; every key of
 * one call must be in one cluster slot (the store groups tasks by their account's hash tag). The day block is
 * `day`'s, used only when the store holds no reservation (the admission never ran: fail-open), and then the
 * task is charged here. `idem` is '1' when the task's `idem` key is set.
 * Reply: per task, 1 if written, 0 if already recorded.
 */
export const LUA_RECORD_TASK =
  LUA_COMMON +
  LUA_SPEND +
  LUA_RESERVATIONS +
  RECORD_KEYS.lua +
  RECORD_ARGS.lua +
  `
local NK, NA = K.rest - 1, A.rest - 1
local now = now_ms()

-- One task from the KEYS block after kb and the ARGV block after ab.
local function record_task(kb, ab)
  local task, inflight, models, resv = KEYS[kb + K.task], KEYS[kb + K.inflight], KEYS[kb + K.models], KEYS[kb + K.resv]
  if redis.call('EXISTS', task) == 1 then return 0 end
  local task_id, model, reservation = ARGV[ab + A.taskId], ARGV[ab + A.model], ARGV[ab + A.reservation]
  local state = 'pending'
  local day, cost, user, feature = ARGV[ab + A.day], ARGV[ab + A.cost], ARGV[ab + A.user], ARGV[ab + A.feature]
  local r = resv_get(resv, reservation)
  if r then
    -- The reservation becomes the task's charge: it is already in its day's spend, attributed as admitted.
    day, cost, user, feature = r.day, r.cost, r.user or '', r.feature or ''
    redis.call('HDEL', resv, reservation)
    local admitted_at = redis.call('ZSCORE', inflight, 'r:' .. reservation)
    if admitted_at then
      redis.call('ZREM', inflight, 'r:' .. reservation)
      redis.call('HDEL', models, 'r:' .. reservation)
      redis.call('ZADD', inflight, admitted_at, 't:' .. task_id)
      redis.call('HSET', models, 't:' .. task_id, model)
    else
      -- The reservation outlived the max age and its slot was already given back: record it as expired.
      state = 'expired'
    end
  else
    -- No reservation: charged here, and an admission of this id that Redis runs later takes nothing.
    add_spend(kb + K.spend, cost, 1, model, user, feature)
    redis.call('ZADD', inflight, int(now), 't:' .. task_id)
    redis.call('HSET', models, 't:' .. task_id, model)
    redis.call('SET', KEYS[kb + K.tomb], 'charged', 'EX', ARGV[ab + A.tombTtlSec])
  end
  local ttl = ARGV[ab + A.ttlSec]
  redis.call('HSET', task, 'taskId', task_id, 'tenantId', ARGV[ab + A.tenantId], 'model', model, 'cost', cost,
    'day', day, 'res', reservation, 'upstream', ARGV[ab + A.upstream], 'submittedAt', int(now), 'state', state,
    'refunded', '0', 'tp', ARGV[ab + A.traceparent], 'user', user, 'feature', feature)
  redis.call('EXPIRE', task, ttl)
  local tasks = KEYS[kb + K.tasks]
  redis.call('ZADD', tasks, int(now), day .. '|' .. task_id)
  redis.call('ZREMRANGEBYSCORE', tasks, '-inf', int(now - tonumber(ttl) * 1000))
  redis.call('EXPIRE', tasks, ttl)
  if ARGV[ab + A.idem] == '1' then
    local idem = KEYS[kb + K.idem]
    local holder = redis.call('HGET', idem, 'res')
    if not holder or holder == reservation then
      redis.call('DEL', idem)
      redis.call('HSET', idem, 'state', 'done', 'res', reservation, 'status', ARGV[ab + A.status],
        'ctype', ARGV[ab + A.ctype], 'body', ARGV[ab + A.body])
      redis.call('EXPIRE', idem, ARGV[ab + A.idemTtlSec])
    end
  end
  return 1
end

local n = #KEYS / NK
if n < 1 or n ~= math.floor(n) or #ARGV ~= n * NA then
  return redis.error_reply('ERR agwRecordTask: ' .. #KEYS .. ' keys and ' .. #ARGV .. ' args are not whole tasks')
end
local out = {}
for i = 0, n - 1 do out[i + 1] = record_task(i * NK, i * NA) end
return out
`;

export const RELEASE_KEYS = layout("K", ["inflight", "models", "resv", "tomb", "idem", "acct"]);
export const RELEASE_ARGS = layout("A", ["reservation", "tombTtlSec", "idem", "acct", "n"]);

/**
 * releaseReservation. After the named KEYS: a day block (spend.ts) per candidate day; after the named ARGV: the n
 * candidate days. `idem` / `acct` are '1' when KEYS[K.idem] / KEYS[K.acct] are real keys.
 * Reply: { 1, record JSON } when released now; { 0 } when there was nothing to release (a tombstone then
 * refuses a late admission of the id).
 */
export const LUA_RELEASE =
  LUA_COMMON +
  LUA_SPEND +
  LUA_RESERVATIONS +
  RELEASE_KEYS.lua +
  RELEASE_ARGS.lua +
  `
local resv, reservation = KEYS[K.resv], ARGV[A.reservation]
local raw = redis.call('HGET', resv, reservation)
if not raw then
  redis.call('SET', KEYS[K.tomb], 'released', 'EX', ARGV[A.tombTtlSec], 'NX')
  return { 0 }
end
local r = cjson.decode(raw)
local d = nil
for i = 1, tonumber(ARGV[A.n]) do
  if ARGV[A.rest + i - 1] == r.day then d = K.rest + ${DAY_KEYS} * (i - 1) end
end
if not d then return redis.error_reply('release: the reservation is charged to a day not given') end
local member = 'r:' .. reservation
redis.call('ZREM', KEYS[K.inflight], member)
redis.call('HDEL', KEYS[K.models], member)
add_spend(d, '-' .. r.cost, -1, r.model, r.user or '', r.feature or '')
redis.call('HDEL', resv, reservation)
if ARGV[A.idem] == '1' then
  local h = redis.call('HMGET', KEYS[K.idem], 'state', 'res')
  if h[1] == 'held' and h[2] == reservation then redis.call('DEL', KEYS[K.idem]) end
end
if ARGV[A.acct] == '1' then redis.call('ZREM', KEYS[K.acct], reservation) end
return { 1, raw }
`;

export const UNKNOWN_KEYS = layout("K", [
  "inflight",
  "models",
  "resv",
  "tomb",
  // The day block of `day` (spend.ts).
  "spend",
  "spendm",
  "usage",
  "mspend",
  "musage",
]);
export const UNKNOWN_ARGS = layout("A", [
  "reservation",
  "reason",
  "day",
  "model",
  "cost",
  "upstream",
  "tombTtlSec",
  "user",
  "feature",
]);

/**
 * markUnknown. The reservation stays charged with state 'unknown'; with no reservation in the store (its
 * admission never ran) it is charged here to `day`, whose day block starts at KEYS[K.spend].
 * Reply: { 1 } marked, { 2 } charged and marked, { 0 } already released or charged (nothing to do).
 */
export const LUA_MARK_UNKNOWN =
  LUA_COMMON +
  LUA_SPEND +
  LUA_RESERVATIONS +
  UNKNOWN_KEYS.lua +
  UNKNOWN_ARGS.lua +
  `
local resv, reservation = KEYS[K.resv], ARGV[A.reservation]
local r = resv_get(resv, reservation)
if r then
  r.state = 'unknown'
  r.reason = ARGV[A.reason]
  resv_put(resv, reservation, r)
  return { 1 }
end
if redis.call('EXISTS', KEYS[K.tomb]) == 1 then return { 0 } end
local now = now_ms()
add_spend(K.spend, ARGV[A.cost], 1, ARGV[A.model], ARGV[A.user], ARGV[A.feature])
redis.call('ZADD', KEYS[K.inflight], int(now), 'r:' .. reservation)
redis.call('HSET', KEYS[K.models], 'r:' .. reservation, ARGV[A.model])
resv_put(resv, reservation, {
  day = ARGV[A.day], cost = ARGV[A.cost], model = ARGV[A.model], upstream = ARGV[A.upstream],
  user = ARGV[A.user], feature = ARGV[A.feature],
  idem = '', acct = '0', at = int(now), state = 'unknown', reason = ARGV[A.reason]
})
redis.call('SET', KEYS[K.tomb], 'unknown', 'EX', ARGV[A.tombTtlSec])
return { 2 }
`;

/**
 * markOrphans. KEYS: resv. ARGV: olderThanMs, pruneAfterMs. Open reservations admitted more than olderThanMs
 * ago become 'unknown' ('orphaned'); records older than pruneAfterMs (their day keys have expired) are
 * dropped. Reply: the JSON records marked now.
 */
export const LUA_MARK_ORPHANS = `${LUA_COMMON}${LUA_RESERVATIONS}
local resv = KEYS[1]
local now = now_ms()
local orphan_before, prune_before = now - tonumber(ARGV[1]), now - tonumber(ARGV[2])
local out = {}
local all = redis.call('HGETALL', resv)
for i = 1, #all, 2 do
  local id, r = all[i], cjson.decode(all[i + 1])
  local at = tonumber(r.at)
  if at < prune_before then
    redis.call('HDEL', resv, id)
  elseif r.state == 'open' and at < orphan_before then
    r.state = 'unknown'
    r.reason = 'orphaned'
    resv_put(resv, id, r)
    out[#out + 1] = id
    out[#out + 1] = cjson.encode(r)
  end
end
return out
`;

export const STATUS_KEYS = layout("K", ["task", "inflight"]);
export const STATUS_ARGS = layout("A", ["taskId", "acct", "n"]);

/**
 * admitStatus. After the named KEYS: buckets[n], then the account's bucket and in-flight set when `acct` is
 * '1'; after the named ARGV: a (name, rate, burst) triple per bucket, then the account's (account.ts).
 * The reply carries the caller's record with its cached answer.
 */
export const LUA_ADMIT_STATUS = withRecord(`${LUA_ACCOUNT}${STATUS_KEYS.lua}${STATUS_ARGS.lua}
local now = now_ms()
local n = tonumber(ARGV[A.n])
local buckets = read_buckets(K.rest, n, A.rest, now)
local limited = rate_limited(buckets)
if limited then return limited end
local rec = record(KEYS[K.task], KEYS[K.inflight], ARGV[A.taskId])
-- The account's token pays for an APIXO call: none is made for someone else's task or a cached answer.
if ARGV[A.acct] == '1' and #rec > 1 and redis.call('HEXISTS', KEYS[K.task], 'ansStatus') == 0 then
  local acct = account_open(K.rest + n, A.rest + 3 * n, now)
  local denied = account_denial(acct, nil, tightest(buckets, 0))
  if denied then return denied end
  account_take(acct, now, nil, nil)
end
take(buckets, now)
local rate = tightest(buckets, 1)
${appendRecord("{ 'admitted', rate[1], rate[2], rate[3] }")}
`);

export const SIMPLE_ARGS = layout("A", ["n"]);

/** admitSimple. KEYS: buckets[n]. After the named ARGV: a (name, rate, burst) triple per bucket. */
export const LUA_ADMIT_SIMPLE = `${LUA_COMMON}${SIMPLE_ARGS.lua}
local now = now_ms()
local buckets = read_buckets(1, tonumber(ARGV[A.n]), A.rest, now)
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

export const SETTLE_KEYS = layout("K", [
  "task",
  "inflight",
  "models",
  "refund",
  "acct",
  // The day block of the record's charge day (spend.ts).
  "spend",
  "spendm",
  "usage",
  "mspend",
  "musage",
]);
export const SETTLE_ARGS = layout("A", [
  "taskId",
  "state",
  "failCode",
  "refund",
  "day",
  "acct",
  "ansStatus",
  "ansCtype",
  "ansBody",
]);

/** settleTask; the day keys are the record's charge day. `acct` is '1' when KEYS[K.acct] is real.
 * Reply: settled, refunded, slotReleased, record. A task settled without an answer gets it stored now. */
export const LUA_SETTLE = withRecord(
  LUA_SPEND +
    SETTLE_KEYS.lua +
    SETTLE_ARGS.lua +
    `
local task, inflight, models = KEYS[K.task], KEYS[K.inflight], KEYS[K.models]
local h = redis.call('HMGET', task, 'state', 'cost', 'model', 'day', 'res', 'user', 'feature')
local answer = ARGV[A.ansStatus] ~= ''
local rec
if not h[1] or h[1] == 'success' or h[1] == 'failed' then
  if h[1] and answer and redis.call('HEXISTS', task, 'ansStatus') == 0 then
    redis.call('HSET', task, 'ansStatus', ARGV[A.ansStatus], 'ansCtype', ARGV[A.ansCtype], 'ansBody', ARGV[A.ansBody])
  end
  rec = record(task, inflight, ARGV[A.taskId])
  ${appendRecord("{ 0, 0, 0 }")}
end
if h[4] ~= ARGV[A.day] then return redis.error_reply('settle: day keys do not match the ledger') end
local member = 't:' .. ARGV[A.taskId]
local slot = redis.call('ZREM', inflight, member)
redis.call('HDEL', models, member)
if ARGV[A.acct] == '1' and h[5] then redis.call('ZREM', KEYS[K.acct], h[5]) end
if answer then
  redis.call('HSET', task, 'ansStatus', ARGV[A.ansStatus], 'ansCtype', ARGV[A.ansCtype], 'ansBody', ARGV[A.ansBody])
end
local refunded = 0
if ARGV[A.state] == 'failed' and ARGV[A.refund] == '1' and tonumber(h[2]) > 0 then
  -- A refund goes back to the windows of the charge (its day and month), and keeps the task counted.
  add_spend(K.spend, '-' .. h[2], 0, h[3], h[6] or '', h[7] or '')
  redis.call('INCRBY', KEYS[K.refund], h[2])
  redis.call('EXPIRE', KEYS[K.refund], DAY_TTL)
  redis.call('HSET', task, 'refunded', h[2])
  refunded = tonumber(h[2])
end
redis.call('HSET', task, 'state', ARGV[A.state], 'settledAt', int(now_ms()))
if ARGV[A.failCode] ~= '' then redis.call('HSET', task, 'failCode', ARGV[A.failCode]) end
rec = record(task, inflight, ARGV[A.taskId])
${appendRecord("{ 1, refunded, slot }")}
`,
);

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

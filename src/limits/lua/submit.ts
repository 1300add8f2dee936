import { DAY_KEY_TTL_SEC, type TenantKeys } from "../keys.js";
import type { SubmitRequest } from "../store.js";
import { LUA_ACCOUNT } from "./account.js";
import type { ScriptArgs } from "../callCache.js";
import { LUA_COMMON } from "./common.js";

/**
 * admitSubmit in one round trip.
 * KEYS: inflight, inflightModels, spend[y,t,tm], spendByModel[y,t,tm], buckets[n], (account bucket,
 *       account inflight), (idem)
 * ARGV: model, cost, cap|'', maxInFlight|'', reservationId, maxAgeMs, startTodayMs, startTomorrowMs,
 *       yesterday, today, tomorrow, idemTtlSec, dayTtlSec, n, (name, rate, burst) x n, (account: see account.ts)
 * Checks run in order idempotency, buckets, in-flight, spend, account; writes happen only after all pass.
 */
export const LUA_ADMIT_SUBMIT =
  LUA_COMMON +
  LUA_ACCOUNT +
  `
local inflight, models = KEYS[1], KEYS[2]
local model, cost, cap, max_in_flight = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local reservation, max_age = ARGV[5], tonumber(ARGV[6])
local n = tonumber(ARGV[14])
local acct_a = 15 + 3 * n
local acct_n = 0
if ARGV[acct_a] then acct_n = 2 end
local idem = KEYS[9 + n + acct_n]
local now = now_ms()
local cutoff = now - max_age

if idem then
  local h = redis.call('HMGET', idem, 'state', 'res', 'status', 'ctype', 'body')
  if h[1] == 'done' then return { 'replay', h[3], h[4], h[5] } end
  if h[1] == 'held' then
    local held = redis.call('ZSCORE', inflight, 'r:' .. h[2])
    -- A hold whose reservation is gone or past max age belongs to a request that died: take it over.
    if held and tonumber(held) > cutoff then return { 'in_progress' } end
  end
end

local buckets = read_buckets(9, n, 15, now)
local limited = rate_limited(buckets)
if limited then return limited end
local rate = tightest(buckets, 0)

local live = redis.call('ZCOUNT', inflight, '(' .. int(cutoff), '+inf')
if max_in_flight and live >= max_in_flight then
  return { 'concurrency_limited', live, max_in_flight, 1, rate[1], rate[2], rate[3] }
end

local d = 2
if now < tonumber(ARGV[7]) then d = 1 elseif now >= tonumber(ARGV[8]) then d = 3 end
local spend_key, model_key, day = KEYS[2 + d], KEYS[5 + d], ARGV[8 + d]
local spent = tonumber(redis.call('GET', spend_key) or '0')
if cap and spent + cost > cap then
  return { 'spend_cap', ARGV[3], int(spent), ARGV[2], rate[1], rate[2], rate[3] }
end

local acct = nil
if acct_n > 0 then
  acct = account_open(9 + n, acct_a, now)
  local denied = account_denial(acct, cutoff, rate)
  if denied then return denied end
end

take(buckets, now)
if acct then account_take(acct, now, cutoff, reservation) end
rate = tightest(buckets, 1)

local expired = {}
local stale = redis.call('ZRANGEBYSCORE', inflight, '-inf', int(cutoff))
for _, member in ipairs(stale) do
  local m = redis.call('HGET', models, member) or ''
  redis.call('ZREM', inflight, member)
  redis.call('HDEL', models, member)
  if string.sub(member, 1, 2) == 't:' then
    expired[#expired + 1] = string.sub(member, 3)
    expired[#expired + 1] = m
  end
end

redis.call('ZADD', inflight, int(now), 'r:' .. reservation)
redis.call('HSET', models, 'r:' .. reservation, model)
local total = redis.call('INCRBY', spend_key, ARGV[2])
redis.call('EXPIRE', spend_key, ARGV[13])
add_model(model_key, model, ARGV[2])
redis.call('EXPIRE', model_key, ARGV[13])
if idem then
  redis.call('DEL', idem)
  redis.call('HSET', idem, 'state', 'held', 'res', reservation)
  redis.call('EXPIRE', idem, ARGV[12])
end

local reply = { 'admitted', day, total, rate[1], rate[2], rate[3] }
for _, v in ipairs(expired) do reply[#reply + 1] = v end
return reply
`;

function optional(value: number | null): string {
  return value === null ? "" : String(value);
}

export function submitCall(
  k: TenantKeys,
  request: SubmitRequest,
  b: ScriptArgs,
  account: ScriptArgs,
): { keys: string[]; args: string[] } {
  const { days, idempotency } = request;
  const dayNames = [days.yesterday, days.today, days.tomorrow];
  const keys = [k.inflight, k.inflightModels, ...dayNames.map((d) => k.spend(d))];
  keys.push(...dayNames.map((d) => k.spendByModel(d)), ...b.keys, ...account.keys);
  if (idempotency !== undefined) keys.push(k.idem(idempotency.key));
  const args = [request.model, String(request.costMicros), optional(request.capMicros)];
  args.push(optional(request.maxInFlight), request.reservationId, String(request.taskMaxAgeMs));
  args.push(String(days.startTodayMs), String(days.startTomorrowMs), ...dayNames);
  args.push(
    String(idempotency?.ttlSec ?? 0),
    String(DAY_KEY_TTL_SEC),
    String(request.buckets.length),
    ...b.args,
    ...account.args,
  );
  return { keys, args };
}

import type { TenantKeys } from "../keys.js";
import type { SubmitRequest } from "../store.js";
import type { ScriptArgs } from "../callCache.js";
import { LUA_ACCOUNT } from "./account.js";
import { LUA_COMMON } from "./common.js";
import { layout } from "./layout.js";
import { LUA_RESERVATIONS } from "./reservations.js";
import { LUA_SPEND, attributionArgs } from "./spend.js";

const KEYS = layout("K", [
  "inflight",
  "models",
  "resv",
  "tomb",
  // A day block (spend.ts) for each candidate day: yesterday, today, tomorrow.
  "spendY",
  "modelY",
  "usageY",
  "monthY",
  "musageY",
  "spendT",
  "modelT",
  "usageT",
  "monthT",
  "musageT",
  "spendTm",
  "modelTm",
  "usageTm",
  "monthTm",
  "musageTm",
]);
const ARGS = layout("A", [
  "model",
  "cost",
  "maxInFlight",
  "reservation",
  "maxAgeMs",
  "startTodayMs",
  "startTomorrowMs",
  "yesterday",
  "today",
  "tomorrow",
  "idemKey",
  "idemTtlSec",
  "upstream",
  "acct",
  "n",
  "nCaps",
  "user",
  "feature",
]);

/**
 * admitSubmit in one round trip. After the named KEYS: buckets[n], then the account's bucket and in-flight
 * set when `acct` is '1', then the idempotency record when `idemKey` is set. After the named ARGV: a
 * (name, rate, burst) triple per bucket, then the account's arguments (account.ts), then a (window, cap)
 * pair per cap (spend.ts).
 * Checks run in order: late admission, idempotency, buckets, in-flight, caps, account; writes happen only
 * after all pass, and include the reservation record. A replay of a stored answer takes a bucket token only.
 */
export const LUA_ADMIT_SUBMIT =
  LUA_COMMON +
  LUA_SPEND +
  LUA_ACCOUNT +
  LUA_RESERVATIONS +
  KEYS.lua +
  ARGS.lua +
  `
local inflight, models, resv = KEYS[K.inflight], KEYS[K.models], KEYS[K.resv]
local reservation = ARGV[A.reservation]
if resv_void(resv, KEYS[K.tomb], reservation) then return { 'void' } end

local cost, max_in_flight = tonumber(ARGV[A.cost]), tonumber(ARGV[A.maxInFlight])
local model, user, feature = ARGV[A.model], ARGV[A.user], ARGV[A.feature]
local n = tonumber(ARGV[A.n])
local acct_k = K.rest + n
local has_acct = ARGV[A.acct] == '1'
local caps_a = A.rest + 3 * n
if has_acct then caps_a = caps_a + 4 end
local n_caps = tonumber(ARGV[A.nCaps])
local idem = nil
if ARGV[A.idemKey] ~= '' then
  if has_acct then idem = KEYS[acct_k + 2] else idem = KEYS[acct_k] end
end
local now = now_ms()
local cutoff = now - tonumber(ARGV[A.maxAgeMs])

-- The day (and so the month) is chosen by Redis's clock, from the candidates the gateway computed.
local d, day = K.spendT, ARGV[A.today]
if now < tonumber(ARGV[A.startTodayMs]) then
  d, day = K.spendY, ARGV[A.yesterday]
elseif now >= tonumber(ARGV[A.startTomorrowMs]) then
  d, day = K.spendTm, ARGV[A.tomorrow]
end

local buckets = read_buckets(K.rest, n, A.rest, now)
if idem then
  local h = redis.call('HMGET', idem, 'state', 'res', 'status', 'ctype', 'body')
  if h[1] == 'done' then
    -- A replay is a governed answer: it takes a submit token (nothing else: no cost, no slot, no APIXO call).
    local limited = rate_limited(buckets)
    if limited then return limited end
    take(buckets, now)
    local rate = tightest(buckets, 1)
    local spent = redis.call('GET', KEYS[d]) or '0'
    local left = check_caps(caps_a, n_caps, d, 0, model, user)
    return { 'replay', h[3], h[4], h[5], rate[1], rate[2], rate[3], spent, left and int(left) or '' }
  end
  if h[1] == 'held' then
    local held = redis.call('ZSCORE', inflight, 'r:' .. h[2])
    -- A hold whose reservation is gone or past max age belongs to a request that died: take it over.
    if held and tonumber(held) > cutoff then return { 'in_progress' } end
  end
end

local limited = rate_limited(buckets)
if limited then return limited end
local rate = tightest(buckets, 0)

if max_in_flight then
  local live = redis.call('ZCOUNT', inflight, '(' .. int(cutoff), '+inf')
  if live >= max_in_flight then
    return { 'concurrency_limited', live, max_in_flight, 1, rate[1], rate[2], rate[3] }
  end
end

local remaining, over = check_caps(caps_a, n_caps, d, cost, model, user)
if over then
  return { 'spend_cap', over[1], day, int(over[2]), int(over[3]), ARGV[A.cost], rate[1], rate[2], rate[3] }
end

local acct = nil
if has_acct then
  acct = account_open(acct_k, A.rest + 3 * n, now)
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
resv_put(resv, reservation, {
  day = day, cost = ARGV[A.cost], model = model, upstream = ARGV[A.upstream], user = user, feature = feature,
  idem = ARGV[A.idemKey], acct = ARGV[A.acct], at = int(now), state = 'open', reason = ''
})
local total = add_spend(d, ARGV[A.cost], 1, model, user, feature)
if idem then
  redis.call('DEL', idem)
  redis.call('HSET', idem, 'state', 'held', 'res', reservation)
  redis.call('EXPIRE', idem, ARGV[A.idemTtlSec])
end

local reply = { 'admitted', day, total, remaining and int(remaining) or '', rate[1], rate[2], rate[3] }
for _, v in ipairs(expired) do reply[#reply + 1] = v end
return reply
`;

function optional(value: number | null): string {
  return value === null ? "" : String(value);
}

/** The parts of an admission's call that change only with the config or the day (CallCache). */
export interface SubmitParts {
  readonly buckets: ScriptArgs;
  readonly account: ScriptArgs;
  /** Yesterday's, today's and tomorrow's day blocks, in layout order. */
  readonly dayBlocks: readonly string[];
  readonly capArgs: readonly string[];
}

export function submitCall(
  k: TenantKeys,
  request: SubmitRequest,
  parts: SubmitParts,
): { keys: string[]; args: string[] } {
  const { days, idempotency } = request;
  const { buckets: b, account } = parts;
  const keys = [k.inflight, k.inflightModels, k.reservations, k.tombstone(request.reservationId)];
  // The named day blocks, in layout order (KEYS.encode would need each of the fifteen by name).
  keys.push(...parts.dayBlocks, ...b.keys, ...account.keys);
  if (idempotency !== undefined) keys.push(k.idem(idempotency.key));
  const [user, feature] = attributionArgs(request.attribution);
  const args = ARGS.encode({
    model: request.model,
    cost: String(request.costMicros),
    maxInFlight: optional(request.maxInFlight),
    reservation: request.reservationId,
    maxAgeMs: String(request.taskMaxAgeMs),
    startTodayMs: String(days.startTodayMs),
    startTomorrowMs: String(days.startTomorrowMs),
    yesterday: days.yesterday,
    today: days.today,
    tomorrow: days.tomorrow,
    idemKey: idempotency?.key ?? "",
    idemTtlSec: String(idempotency?.ttlSec ?? 0),
    upstream: request.upstream,
    acct: account.keys.length > 0 ? "1" : "0",
    n: String(request.buckets.length),
    nCaps: String(request.caps.length),
    user,
    feature,
  });
  args.push(...b.args, ...account.args, ...parts.capArgs);
  return { keys, args };
}

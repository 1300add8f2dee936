import { DAY_KEY_TTL_SEC, MONTH_KEY_TTL_SEC, type TenantKeys } from "../keys.js";
import { monthOf, type Attribution, type CapSpec } from "../store.js";

/**
 * Spend windows in the scripts. A charge lands in one tenant-local day and, with it, in that day's calendar
 * month; each is a block of five KEYS in this order (`daySpendKeys`): the day's spend, its spend by model, its
 * rollups by user and feature, the month's spend, the month's rollups. Every script that moves money moves it
 * through `add_spend`, so the windows cannot drift apart; `cap_spent` reads the figure a cap is checked against.
 */

/** KEYS per day block. */
export const DAY_KEYS = 5;

export function daySpendKeys(k: TenantKeys, day: string): string[] {
  const month = monthOf(day);
  return [k.spend(day), k.spendByModel(day), k.usage(day), k.spend(month), k.usage(month)];
}

/** ARGV pairs (window, cap micro-USD) in the order the caps are checked. */
export function capArgs(caps: readonly CapSpec[]): string[] {
  return caps.flatMap((cap) => [cap.window, String(cap.capMicros)]);
}

/** ARGV (user, feature), '' for none. */
export function attributionArgs(attribution: Attribution): [string, string] {
  return [attribution.user ?? "", attribution.feature ?? ""];
}

/** reconcileMonth: KEYS[1] the month's spend, then each of its days'; sets the month to their sum. */
export const LUA_RECONCILE_MONTH = `
local total = 0
for i = 2, #KEYS do total = total + tonumber(redis.call('GET', KEYS[i]) or '0') end
redis.call('SET', KEYS[1], string.format('%.0f', total), 'EX', ${MONTH_KEY_TTL_SEC})
return { string.format('%.0f', total) }
`;

/** Lua for the above; needs LUA_COMMON's add_model and int. */
export const LUA_SPEND = `
local DAY_TTL, MONTH_TTL = ${DAY_KEY_TTL_SEC}, ${MONTH_KEY_TTL_SEC}

local function add_usage(key, tag, name, delta, count)
  if name == '' then return end
  local spent = redis.call('HINCRBY', key, tag .. ':' .. name, delta)
  local n = redis.call('HINCRBY', key, tag .. '#:' .. name, count)
  if spent == 0 and n == 0 then redis.call('HDEL', key, tag .. ':' .. name, tag .. '#:' .. name) end
end

-- A charge (delta > 0, count 1), a give-back (delta < 0, count -1) or a refund (delta < 0, count 0: the task
-- happened) in the day block starting at KEYS[d]. Returns the day's new spend.
local function add_spend(d, delta, count, model, user, feature)
  -- Normalised: a give-back of a zero cost arrives as '-0', which INCRBY refuses.
  local amount = tonumber(delta)
  if amount == 0 then amount = 0 end
  delta = int(amount)
  local total = redis.call('INCRBY', KEYS[d], delta)
  redis.call('EXPIRE', KEYS[d], DAY_TTL)
  if amount ~= 0 then
    add_model(KEYS[d + 1], model, delta)
    redis.call('EXPIRE', KEYS[d + 1], DAY_TTL)
  end
  redis.call('INCRBY', KEYS[d + 3], delta)
  redis.call('EXPIRE', KEYS[d + 3], MONTH_TTL)
  if user ~= '' or feature ~= '' then
    for _, period in ipairs({ { KEYS[d + 2], DAY_TTL }, { KEYS[d + 4], MONTH_TTL } }) do
      add_usage(period[1], 'u', user, delta, count)
      add_usage(period[1], 'f', feature, delta, count)
      redis.call('EXPIRE', period[1], period[2])
    end
  end
  return total
end

-- What a cap is checked against in the day block at KEYS[d]; nil when it does not apply (no user).
local function cap_spent(window, d, model, user)
  if window == 'daily' then return tonumber(redis.call('GET', KEYS[d]) or '0') end
  if window == 'monthly' then return tonumber(redis.call('GET', KEYS[d + 3]) or '0') end
  if window == 'model_daily' then return tonumber(redis.call('HGET', KEYS[d + 1], model) or '0') end
  if window == 'user_daily' then
    if user == '' then return nil end
    return tonumber(redis.call('HGET', KEYS[d + 2], 'u:' .. user) or '0')
  end
  error('unknown cap window ' .. tostring(window))
end

-- Caps as ARGV pairs from ARGV[first]. Returns the smallest budget left after 'cost' over the caps that
-- apply (nil: none does; negative when one is already overspent) and the first cap the cost does not fit in,
-- as { window, cap, spent }, or nil.
local function check_caps(first, n, d, cost, model, user)
  local remaining, over = nil, nil
  for i = 1, n do
    local a = first + 2 * (i - 1)
    local window, cap = ARGV[a], tonumber(ARGV[a + 1])
    local spent = cap_spent(window, d, model, user)
    if spent then
      local left = cap - spent - cost
      if left < 0 and over == nil then over = { window, cap, spent } end
      if remaining == nil or left < remaining then remaining = left end
    end
  end
  return remaining, over
end
`;

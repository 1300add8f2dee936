import { assertBuckets } from "../bucket.js";
import type { TenantKeys } from "../keys.js";
import type { BucketSpec } from "../store.js";

/** KEYS and ARGV (name, ratePerSec, burst per bucket) in the layout read_buckets expects. */
export function bucketCall(
  keys: TenantKeys,
  buckets: readonly BucketSpec[],
): { keys: string[]; args: string[] } {
  assertBuckets(buckets);
  return {
    keys: buckets.map((b) => keys.bucket(b.name)),
    args: buckets.flatMap((b) => [b.name, String(b.ratePerSec), String(b.burst)]),
  };
}

/**
 * Lua shared by every script (prepended to each source). Scripts touch only KEYS; time is Redis TIME; numbers
 * written back are formatted explicitly because Redis turns Lua numbers into strings with only 14 digits.
 */
export const LUA_COMMON = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function int(x)
  return string.format('%.0f', x)
end

-- Buckets come as KEYS[first..first+n-1] and ARGV triples (name, ratePerSec, burst) from ARGV[argv_first].
local function read_buckets(first, n, argv_first, now)
  local list = {}
  for i = 1, n do
    local a = argv_first + (i - 1) * 3
    local b = { key = KEYS[first + i - 1], name = ARGV[a], rate = tonumber(ARGV[a + 1]), burst = tonumber(ARGV[a + 2]) }
    local h = redis.call('HMGET', b.key, 'tokens', 'ts', 'exp')
    local tokens, ts = tonumber(h[1]), tonumber(h[2])
    b.exp = tonumber(h[3])
    if tokens == nil or ts == nil then
      b.tokens = b.burst
    else
      b.tokens = math.min(b.burst, tokens + math.max(0, now - ts) * b.rate / 1000)
    end
    list[i] = b
  end
  return list
end

local function rate_of(b, tokens)
  return { b.burst, math.floor(tokens), math.ceil((b.burst - tokens) / b.rate) }
end

local function tightest(list, taken)
  local best = nil
  for _, b in ipairs(list) do
    local info = rate_of(b, b.tokens - taken)
    if best == nil or info[2] < best[2] or (info[2] == best[2] and info[3] > best[3]) then best = info end
  end
  return best or { 0, 0, 0 }
end

-- nil when every bucket holds a token, else the bucket needing the longest wait and that wait in seconds.
local function denial(list)
  local worst, retry = nil, 0
  for _, b in ipairs(list) do
    if b.tokens < 1 then
      local r = math.max(1, math.ceil((1 - b.tokens) / b.rate))
      if worst == nil or r > retry then worst, retry = b, r end
    end
  end
  return worst, retry
end

-- A bucket's key may expire once the bucket would be full again (a missing key reads as full), so its expiry
-- is pushed out only when it falls short of that: a PEXPIRE per bucket every ttl/2 of traffic rather than on
-- every take. 'exp' is the expiry last set (ms), which the key's real expiry never precedes.
local function take(list, now)
  for _, b in ipairs(list) do
    local left = b.tokens - 1
    local full_at = now + math.ceil((b.burst - left) / b.rate * 1000)
    if b.exp ~= nil and b.exp >= full_at then
      redis.call('HSET', b.key, 'tokens', string.format('%.17g', left), 'ts', int(now))
    else
      local exp = now + math.max(1000, math.ceil(b.burst / b.rate * 2000))
      redis.call('HSET', b.key, 'tokens', string.format('%.17g', left), 'ts', int(now), 'exp', int(exp))
      redis.call('PEXPIREAT', b.key, int(exp))
    end
  end
end

local function rate_limited(list)
  local b, retry = denial(list)
  if b == nil then return nil end
  local info = rate_of(b, b.tokens)
  return { 'rate_limited', b.name, retry, info[1], info[2], info[3] }
end

-- A model's net spend of 0 is dropped so per-model reports list only models that cost something.
local function add_model(key, model, delta)
  if redis.call('HINCRBY', key, model, delta) == 0 then redis.call('HDEL', key, model) end
end
`;

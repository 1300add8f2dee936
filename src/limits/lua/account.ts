import { accountKeys } from "../accountKeys.js";
import { assertBuckets } from "../bucket.js";
import type { AccountLimits } from "../store.js";

/**
 * Account-wide limits of one upstream key, shared by every tenant (see accountKeys.ts for the slot trade-off).
 * Appended to LUA_COMMON by the scripts that use it. Layout, when present:
 *   KEYS[first] account bucket, KEYS[first + 1] account in-flight zset
 *   ARGV[a] name, ARGV[a + 1] ratePerSec|'', ARGV[a + 2] burst|'', ARGV[a + 3] maxInFlight|''
 */
export const LUA_ACCOUNT = `
local function account_open(first, a, now)
  local acct = { inflight = KEYS[first + 1], max = tonumber(ARGV[a + 3]), buckets = {} }
  if ARGV[a + 1] ~= '' then acct.buckets = read_buckets(first, 1, a, now) end
  return acct
end

-- nil when the account has room; else the denial reply. 'fallback' is the rate info of the tenant's buckets.
local function account_denial(acct, cutoff, fallback)
  local b, retry = denial(acct.buckets)
  if b then
    local info = rate_of(b, b.tokens)
    return { 'account_limited', 'rate', retry, info[1], info[2], info[3] }
  end
  if acct.max and cutoff then
    local live = redis.call('ZCOUNT', acct.inflight, '(' .. int(cutoff), '+inf')
    if live >= acct.max then
      return { 'account_limited', 'concurrency', 1, fallback[1], fallback[2], fallback[3] }
    end
  end
  return nil
end

-- Takes the account's token and, for a submit, its in-flight slot; slots past the max age are dropped here
-- because no sweep visits the account's set.
local function account_take(acct, now, cutoff, member)
  take(acct.buckets, now)
  if member then
    redis.call('ZREMRANGEBYSCORE', acct.inflight, '-inf', int(cutoff))
    redis.call('ZADD', acct.inflight, int(now), member)
  end
end
`;

/** KEYS and ARGV for LUA_ACCOUNT; empty when the request has no account limits. */
export function accountCall(
  prefix: string,
  account: AccountLimits | undefined,
): { keys: string[]; args: string[] } {
  if (account === undefined) return { keys: [], args: [] };
  const k = accountKeys(prefix, account.upstream);
  const b = account.bucket;
  if (b !== null) assertBuckets([b]);
  return {
    keys: [k.bucket, k.inflight],
    args: [
      "account",
      b === null ? "" : String(b.ratePerSec),
      b === null ? "" : String(b.burst),
      account.maxInFlight === null ? "" : String(account.maxInFlight),
    ],
  };
}

import { LUA_COMMON } from "./common.js";

/**
 * The ledger check's atomic read of one tenant-day. KEYS: spend, refund, spendm, resv, inflight, tasks, then
 * the task records to read. ARGV: day, expected ZCARD of tasks, expected ZCARD of inflight (read before the
 * caller chose which records to pass: if either changed, the reply is { 'retry' }).
 * Reply: { 'ok', JSON } with now, spent, refunded, models, resv, inflight and tasks (HGETALL per record).
 */
export const LUA_AUDIT = `${LUA_COMMON}
if redis.call('ZCARD', KEYS[6]) ~= tonumber(ARGV[2]) or redis.call('ZCARD', KEYS[5]) ~= tonumber(ARGV[3]) then
  return { 'retry' }
end
local out = {
  now = int(now_ms()),
  spent = redis.call('GET', KEYS[1]) or '0',
  refunded = redis.call('GET', KEYS[2]) or '0',
  models = redis.call('HGETALL', KEYS[3]),
  resv = redis.call('HGETALL', KEYS[4]),
  inflight = redis.call('ZRANGE', KEYS[5], 0, -1, 'WITHSCORES'),
  index = redis.call('ZRANGE', KEYS[6], 0, -1),
  tasks = {}
}
for i = 7, #KEYS do out.tasks[#out.tasks + 1] = redis.call('HGETALL', KEYS[i]) end
return { 'ok', cjson.encode(out) }
`;

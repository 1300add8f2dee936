/**
 * Reservation records (see ReservationRecord in store.ts), appended to LUA_COMMON by the scripts that use
 * them. A record is JSON in the tenant's reservations hash; every field is a string, so cjson keeps money
 * and times exact. Fields: day, cost, model, upstream, idem ('' for none), acct ('1' when the reservation
 * holds an account slot), at (admission ms), state ('open' | 'unknown'), reason.
 */
export const LUA_RESERVATIONS = `
local function resv_get(hash, id)
  local raw = redis.call('HGET', hash, id)
  if not raw then return nil end
  return cjson.decode(raw)
end

local function resv_put(hash, id, r)
  redis.call('HSET', hash, id, cjson.encode(r))
end

-- True when this reservation id was already settled one way or the other without its admission: an
-- admission that runs now came too late (the gateway stopped waiting for it) and must take nothing.
local function resv_void(hash, tomb, id)
  return redis.call('EXISTS', tomb) == 1 or redis.call('HEXISTS', hash, id) == 1
end
`;

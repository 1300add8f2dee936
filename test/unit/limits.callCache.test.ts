import { describe, expect, it } from "vitest";
import { CallCache } from "../../src/limits/callCache.js";
import { tenantKeys } from "../../src/limits/keys.js";
import { bucketCall } from "../../src/limits/lua/common.js";

describe("the script argument cache", () => {
  it("gives the same keys and arguments as building them per request", () => {
    const cache = new CallCache("agw", () => "main");
    const specs = [{ name: "status", ratePerSec: 5, burst: 10 }];
    expect(cache.buckets("acme", specs)).toEqual(bucketCall(tenantKeys("agw", "acme", "main"), specs));
    expect(cache.keys("acme").task("t-1")).toBe(tenantKeys("agw", "acme", "main").task("t-1"));
  });

  it("takes a reloaded policy's limits at once and keeps tenants apart", () => {
    const cache = new CallCache("agw", () => "main");
    const before = [{ name: "status", ratePerSec: 5, burst: 10 }];
    const after = [{ name: "status", ratePerSec: 50, burst: 100 }];
    expect(cache.buckets("acme", before).args).toEqual(["status", "5", "10"]);
    expect(cache.buckets("acme", after).args).toEqual(["status", "50", "100"]);
    expect(cache.buckets("globex", after).keys).toEqual(["agw:{acct:main}:t:globex:bucket:status"]);
  });

  it("moves a tenant's keys with its account, keeps a removed tenant's, and refuses one never configured", () => {
    let account: string | undefined = "main";
    const cache = new CallCache("agw", () => account);
    expect(cache.keys("acme").inflight).toBe("agw:{acct:main}:t:acme:inflight");
    account = "batch";
    expect(cache.keys("acme").inflight).toBe("agw:{acct:batch}:t:acme:inflight");
    // Removed by a reload: its keys stay where they were, so its pending ledger writes still land.
    account = undefined;
    expect(cache.keys("acme").inflight).toBe("agw:{acct:batch}:t:acme:inflight");
    expect(() => cache.keys("globex")).toThrow(/no upstream account/);
  });

  it("builds an account's arguments per limits object, and none without account limits", () => {
    const cache = new CallCache("agw", () => "main");
    expect(cache.account(undefined)).toEqual({ keys: [], args: [] });
    const limits = { upstream: "main", bucket: { name: "account", ratePerSec: 2, burst: 4 }, maxInFlight: 7 };
    expect(cache.account(limits).args).toEqual(["account", "2", "4", "7"]);
    expect(cache.account({ ...limits, maxInFlight: null }).args).toEqual(["account", "2", "4", ""]);
  });
});

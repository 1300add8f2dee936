import { describe, expect, it } from "vitest";
import { accountKeys } from "../../src/limits/accountKeys.js";
import { inflightReservation, inflightTask, tenantKeys } from "../../src/limits/keys.js";

describe("tenant keys", () => {
  const k = tenantKeys("agw", "acme");

  it("builds every key with the tenant's own hash tag when no account is given (the memory store)", () => {
    expect(k.bucket("submit")).toBe("agw:{acme}:bucket:submit");
    expect(k.bucket("submit:flux2")).toBe("agw:{acme}:bucket:submit:flux2");
    expect(k.spend("2026-11-22")).toBe("agw:{acme}:spend:2026-11-22");
    expect(k.spendByModel("2026-11-22")).toBe("agw:{acme}:spendm:2026-11-22");
    expect(k.refund("2026-11-22")).toBe("agw:{acme}:refund:2026-11-22");
    expect(k.inflight).toBe("agw:{acme}:inflight");
    expect(k.inflightModels).toBe("agw:{acme}:inflightm");
    expect(k.task("task_123")).toBe("agw:{acme}:task:task_123");
    expect(k.idem("key-1")).toBe("agw:{acme}:idem:key-1");
    expect(k.reservations).toBe("agw:{acme}:resv");
    expect(k.tombstone("r-1")).toBe("agw:{acme}:resvx:r-1");
    expect(k.tasks).toBe("agw:{acme}:tasks");
  });

  it("puts a tenant's keys in its account's slot: one hash tag for the tenant and the account it shares", () => {
    const main = tenantKeys("agw", "acme", "main");
    expect(main.spend("2026-11-22")).toBe("agw:{acct:main}:t:acme:spend:2026-11-22");
    expect(main.inflight).toBe("agw:{acct:main}:t:acme:inflight");
    expect(main.task("task_123")).toBe("agw:{acct:main}:t:acme:task:task_123");
    const account = accountKeys("agw", "main");
    expect(account.inflight).toBe("agw:{acct:main}:inflight");
    expect(account.bucket).toBe("agw:{acct:main}:bucket");
    // Tenants of one account never share a key with each other or with the account.
    const globex = tenantKeys("agw", "globex", "main");
    expect(new Set([main.inflight, globex.inflight, account.inflight]).size).toBe(3);
    expect(() => tenantKeys("agw", "acme", "a}b")).toThrow(/upstream alias/);
  });

  it("names in-flight members by reservation, then by task", () => {
    expect(inflightReservation("r-1")).toBe("r:r-1");
    expect(inflightTask("t-1")).toBe("t:t-1");
  });

  it("refuses tenant ids that would move the hash tag", () => {
    expect(() => tenantKeys("agw", "")).toThrow(/tenant id/);
    expect(() => tenantKeys("agw", "a}b")).toThrow(/tenant id/);
    expect(() => tenantKeys("agw", "{a")).toThrow(/tenant id/);
  });
});

import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { TenantDirectory } from "../../src/tenants/directory.js";
import { generateGatewayKey, hashGatewayKey, isWellFormedKey } from "../../src/tenants/keys.js";

function tenant(id: string, keys: string[], enabled = true) {
  return configSchema.parse({
    upstream: { keys: [{ alias: "main", key: "k" }] },
    tenants: [{ id, enabled, upstreamKey: "main", keys: keys.map((k) => ({ hash: hashGatewayKey(k) })) }],
  }).tenants[0]!;
}

describe("gateway keys", () => {
  it("are random, prefixed agw_ and well formed", () => {
    const keys = new Set(Array.from({ length: 100 }, () => generateGatewayKey()));
    expect(keys.size).toBe(100);
    for (const key of keys) {
      expect(key.startsWith("agw_")).toBe(true);
      expect(isWellFormedKey(key)).toBe(true);
    }
  });

  it("are stored only as sha256:<hex> of the key", () => {
    // The FIPS 180-2 test vector for "abc".
    expect(hashGatewayKey("abc")).toBe(
      "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    expect(hashGatewayKey("agw_test")).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(hashGatewayKey("agw_test")).not.toContain("agw_test");
  });
});

describe("the tenant directory", () => {
  const a = generateGatewayKey();
  const b1 = generateGatewayKey();
  const b2 = generateGatewayKey();
  const off = generateGatewayKey();
  const directory = new TenantDirectory([
    tenant("alpha", [a]),
    tenant("beta", [b1, b2]),
    tenant("gone", [off], false),
  ]);

  it("finds the tenant of each of its keys", () => {
    expect(directory.authenticate(`Bearer ${a}`)).toMatchObject({ kind: "ok", tenant: { id: "alpha" } });
    expect(directory.authenticate(`Bearer ${b1}`)).toMatchObject({ kind: "ok", tenant: { id: "beta" } });
    expect(directory.authenticate(`Bearer ${b2}`)).toMatchObject({ kind: "ok", tenant: { id: "beta" } });
  });

  it("tells missing, malformed, unknown and disabled apart", () => {
    expect(directory.authenticate(undefined).kind).toBe("missing");
    expect(directory.authenticate("").kind).toBe("missing");
    expect(directory.authenticate(a).kind).toBe("malformed");
    expect(directory.authenticate(`Bearer ${a} extra`).kind).toBe("malformed");
    expect(directory.authenticate("Bearer agw_short").kind).toBe("malformed");
    expect(directory.authenticate(`Bearer ${generateGatewayKey()}`).kind).toBe("unknown");
    expect(directory.authenticate(`Bearer ${off}`)).toMatchObject({
      kind: "disabled",
      tenant: { id: "gone" },
    });
  });

  it("looks keys up by hash, so 10,000 tenants are found as directly as one", () => {
    const keys = Array.from({ length: 10_000 }, () => generateGatewayKey());
    const big = new TenantDirectory(keys.map((k, i) => tenant(`t${i}`, [k])));
    expect(big.size).toBe(10_000);
    expect(big.authenticate(`Bearer ${keys[9_999]!}`)).toMatchObject({ kind: "ok", tenant: { id: "t9999" } });
    expect(big.authenticate(`Bearer ${keys[0]!}`)).toMatchObject({ kind: "ok", tenant: { id: "t0" } });
  });
});

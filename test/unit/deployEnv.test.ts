import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfigFile } from "../../src/config/load.js";
import { isWellFormedKey } from "../../src/tenants/keys.js";

const ROOT = join(import.meta.dirname, "../..");

function makeEnv(): Record<string, string> {
  const text = execFileSync("sh", [join(ROOT, "deploy/make-env.sh")], { encoding: "utf8" });
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line);
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}

describe("the compose stack's .env", () => {
  it("gets fresh, well-formed demo keys whose hashes are the ones the gateway config uses", () => {
    const first = makeEnv();
    const second = makeEnv();
    for (const tenant of ["ACME", "TINY"]) {
      const key = first[`${tenant}_GATEWAY_KEY`]!;
      expect(isWellFormedKey(key)).toBe(true);
      const hash = `sha256:${createHash("sha256").update(key).digest("hex")}`;
      expect(first[`${tenant}_KEY_HASH`]).toBe(hash);
      expect(second[`${tenant}_GATEWAY_KEY`]).not.toBe(key);
    }
  });

  it("makes deploy/gateway.compose.yaml a valid configuration", async () => {
    const config = await loadConfigFile(join(ROOT, "deploy/gateway.compose.yaml"), makeEnv());
    expect(config.tenants.map((t) => t.id)).toEqual(["acme", "tiny"]);
    expect(config.store.kind).toBe("redis");
  });
});

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfigFile, parseConfig } from "../../src/config/load.js";

const FIXTURES = join(import.meta.dirname, "../fixtures/config");
const ENV = { APIXO_API_KEY: "sk-test" };

function problemsOf(text: string, env: Record<string, string> = ENV): readonly string[] {
  try {
    parseConfig(text, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("a valid configuration", () => {
  it("loads with defaults filled in and secrets interpolated from the environment", () => {
    const config = parseConfig(readFileSync(join(FIXTURES, "valid.yaml"), "utf8"), ENV);
    expect(config.upstream.keys[0]!.key).toBe("sk-test");
    expect(config.upstream.baseUrl).toBe("https://api.apixo.ai");
    expect(config.server.metricsPort).toBe(9464);
    expect(config.store.failurePolicy).toBe("fail-closed");
    expect(config.tenants[0]!.timeZone).toBe("UTC");
    expect(config.tenants[0]!.allowedModels).toEqual(["*"]);
  });

  it("uses ${VAR:-default} when the variable is unset", () => {
    const text = readFileSync(join(FIXTURES, "valid.yaml"), "utf8").replace(
      "${APIXO_API_KEY}",
      "${NOPE:-fallback}",
    );
    expect(parseConfig(text, {}).upstream.keys[0]!.key).toBe("fallback");
  });

  it("never lets a secret's content change the document's structure", () => {
    const config = parseConfig(readFileSync(join(FIXTURES, "valid.yaml"), "utf8"), {
      APIXO_API_KEY: "x\ntenants: []\n",
    });
    expect(config.tenants).toHaveLength(1);
    expect(config.upstream.keys[0]!.key).toBe("x\ntenants: []\n");
  });

  it("accepts the documented example file", async () => {
    const config = await loadConfigFile(join(import.meta.dirname, "../../config/gateway.example.yaml"), {
      APIXO_API_KEY: "sk-live",
      APIXO_API_KEY_BATCH: "sk-batch",
      REDIS_URL: "redis://127.0.0.1:6379",
      APIXO_GATEWAY_ADMIN_TOKEN: "0123456789abcdef0123",
      ACME_CALLBACK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    });
    expect(config.tenants.length).toBeGreaterThan(1);
  });
});

describe("an invalid configuration is refused with every problem and its path", () => {
  const files = readdirSync(join(FIXTURES, "invalid")).filter((f) => f.endsWith(".yaml"));
  it("has fixtures", () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
  });
  for (const file of files) {
    const text = readFileSync(join(FIXTURES, "invalid", file), "utf8");
    const expected = [...text.matchAll(/^# expect: (.+)$/gm)].map((m) => m[1]!);
    // `# problems: N` where the count is the guarantee (one syntax error is one problem, not 205).
    const count = /^# problems: (\d+)$/m.exec(text)?.[1];
    it(`${file}: ${expected.join(" | ")}${count === undefined ? "" : ` (${count} problem(s))`}`, () => {
      expect(expected.length).toBeGreaterThan(0);
      const problems = problemsOf(text);
      if (count !== undefined) expect(problems, problems.join("\n")).toHaveLength(Number(count));
      else expect(problems.length).toBeGreaterThanOrEqual(expected.length);
      for (const message of expected) {
        expect(
          problems.some((p) => p.includes(message)),
          `"${message}" in:\n${problems.join("\n")}`,
        ).toBe(true);
      }
    });
  }

  it("never echoes a secret pasted where an upstream alias belongs", () => {
    const text = readFileSync(join(FIXTURES, "valid.yaml"), "utf8").replace(
      "upstreamKey: main",
      "upstreamKey: sk-live-0123456789abcdef",
    );
    const problems = problemsOf(text);
    expect(problems.some((p) => p.startsWith("tenants[0].upstreamKey"))).toBe(true);
    expect(problems.join("\n")).not.toContain("sk-live-0123456789abcdef");
  });

  it("reports one unquoted ${VAR} in a flow map of the example file as one problem, not one per token after it", () => {
    const text = readFileSync(join(import.meta.dirname, "../../config/gateway.example.yaml"), "utf8");
    const broken = text.replace(
      "submit: { ratePerSec: 5, burst: 10 }",
      "submit: { ratePerSec: ${RATE}, burst: 10 }",
    );
    expect(broken).not.toBe(text);
    const line = broken.split("\n").findIndex((l) => l.includes("${RATE}")) + 1;
    const problems = problemsOf(broken);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^line ${line}, column \\d+: YAML syntax: `));
  });

  it("never echoes the content of the line a syntax error is on (it may hold a pasted secret)", () => {
    const problems = problemsOf(
      "upstream:\n  keys: [{ alias: main, key: sk-live-0123456789abcdef }\ntenants: []\n",
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("YAML syntax");
    expect(problems[0]).not.toContain("sk-live-0123456789abcdef");
  });

  it("reports an unreadable file as a problem, not a crash", async () => {
    await expect(loadConfigFile("/nonexistent/gateway.yaml")).rejects.toThrow(/cannot read the file/);
  });
});

describe("slow-client timeouts (server.headersTimeoutMs, server.requestTimeoutMs)", () => {
  const valid = readFileSync(join(FIXTURES, "valid.yaml"), "utf8");

  it("default to what a reverse proxy ships: headers within 10 s, the whole request within 30 s", () => {
    const config = parseConfig(valid, ENV);
    expect(config.server.headersTimeoutMs).toBe(10_000);
    expect(config.server.requestTimeoutMs).toBe(30_000);
  });

  it("refuses a headers timeout longer than the whole request's", () => {
    const text = `server:\n  headersTimeoutMs: 40000\n  requestTimeoutMs: 30000\n${valid}`;
    expect(problemsOf(text)).toEqual([expect.stringMatching(/^server\.headersTimeoutMs: .*must not exceed/)]);
  });
});

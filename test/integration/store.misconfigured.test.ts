import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { RunningGateway } from "../../src/gateway/gateway.js";
import type { Simulator } from "../../src/simulator/index.js";
import { hashGatewayKey } from "../../src/tenants/keys.js";
import { runCli } from "../helpers/cli.js";
import { startLoneNode } from "../helpers/redisTopologies.js";
import { startSim, startTestGateway, tenantKeys, UPSTREAM_KEY } from "../helpers/telemetry.js";

/** A store that answers but cannot run the scripts is named as such: at start-up, by config check, by /readyz. */

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "agw-misconfigured-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function configFile(store: Record<string, unknown>): string {
  const file = join(dir, `${randomUUID()}.yaml`);
  const config = {
    server: { port: 0, metricsPort: 0 },
    upstream: { baseUrl: "http://127.0.0.1:1", keys: [{ alias: "main", key: UPSTREAM_KEY }] },
    store: { kind: "redis", ...store },
    tenants: [{ id: "acme", keys: [{ hash: hashGatewayKey("agw_x") }], upstreamKey: "main" }],
  };
  writeFileSync(file, JSON.stringify(config));
  return file;
}

describe("a store of the wrong topology", () => {
  it("a sentinel given as a single Redis: config check --connect and serve exit 1 saying it is a Sentinel", async () => {
    const sentinel = await startLoneNode("sentinel");
    try {
      const file = configFile({ redisUrl: `redis://127.0.0.1:${sentinel.port}` });
      const plain = await runCli(["config", "check", file]);
      expect(plain.code).toBe(0);
      expect(plain.stdout).toContain("store redis (single)");
      const check = await runCli(["config", "check", "--connect", file]);
      expect(check.code).toBe(1);
      expect(check.stderr).toMatch(/cannot be used: .*Redis Sentinel.*topology: sentinel/);
      const serve = await runCli(["serve", "--config", file]);
      expect(serve.code).toBe(1);
      expect(serve.stderr).toMatch(/limit store cannot be used: .*Redis Sentinel/);
    } finally {
      await sentinel.stop();
    }
  }, 60_000);

  it("a cluster node given as a single Redis, and a plain Redis given as a cluster: serve exits 1 with the reason", async () => {
    const node = await startLoneNode("cluster-node");
    try {
      const asSingle = await runCli([
        "serve",
        "--config",
        configFile({ redis: { topology: "single", url: `redis://127.0.0.1:${node.port}` } }),
      ]);
      expect(asSingle.code).toBe(1);
      expect(asSingle.stderr).toMatch(/Redis Cluster node but store.redis.topology is single/);
    } finally {
      await node.stop();
    }
    const plain = new URL(inject("redisUrl"));
    const asCluster = await runCli([
      "config",
      "check",
      "--connect",
      configFile({ redis: { topology: "cluster", nodes: [`127.0.0.1:${plain.port}`] } }),
    ]);
    expect(asCluster.code).toBe(1);
    expect(asCluster.stderr).toMatch(/cannot be used/);
  }, 60_000);
});

describe("a Redis user that may not run scripts", () => {
  let sim: Simulator;
  let admin: Redis;
  let gateway: RunningGateway | undefined;
  const user = `agw-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    sim = await startSim();
    admin = new Redis(inject("redisUrl"));
  });
  afterAll(async () => {
    await gateway?.close();
    await admin.call("ACL", "DELUSER", user);
    admin.disconnect();
    await sim.close();
  });

  it("/readyz answers 503 naming the ACL while EVAL is denied, and 200 again once it is granted", async () => {
    await admin.call("ACL", "SETUSER", user, "on", ">pw-0123456789", "~*", "&*", "+@all");
    const url = new URL(inject("redisUrl"));
    url.username = user;
    url.password = "pw-0123456789";
    const started = await startTestGateway(sim, tenantKeys(), {
      store: { kind: "redis", redisUrl: url.href },
    });
    gateway = started.gateway;
    const readyz = async () => {
      const res = await fetch(`${started.gateway.url}/readyz`);
      return { status: res.status, body: await res.text() };
    };
    expect((await readyz()).status).toBe(200);

    await admin.call("ACL", "SETUSER", user, "-@scripting");
    const denied = await readyz();
    expect(denied.status).toBe(503);
    expect(denied.body).toMatch(/misconfigured: the Redis user may not run the gateway's scripts \(NOPERM/);
    expect(denied.body).not.toContain("pw-0123456789");

    await admin.call("ACL", "SETUSER", user, "+@scripting");
    expect((await readyz()).status).toBe(200);
  }, 60_000);
});

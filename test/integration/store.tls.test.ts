import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { singleRedis } from "../../src/config/redis.js";
import { cappedTenant } from "../helpers/failoverLoad.js";
import { PRICE_MICROS, startMoneyStack } from "../helpers/moneyHarness.js";
import { freePort } from "../helpers/ports.js";
import { startRedisServer, type RedisServer } from "../helpers/redisServer.js";

/**
 * A managed Redis is reached over TLS (`rediss://`): the gateway on a real redis-server's TLS port, its
 * certificate signed by a private CA that the gateway trusts through NODE_EXTRA_CA_CERTS, as a user would add
 * a provider's CA. The test's own ledger probe reads the same server through its plain port.
 */

let dir: string;
let redis: RedisServer;
let tlsPort: number;
let caFile: string;

/** A CA and a server certificate for 127.0.0.1, made with openssl for this run. */
function makeCertificates(): { ca: string; cert: string; key: string } {
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=agw-test-ca",
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.crt"),
  );
  writeFileSync(file("san.ext"), "subjectAltName=IP:127.0.0.1\n");
  openssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    file("redis.key"),
    "-out",
    file("redis.csr"),
  );
  openssl(
    "x509",
    "-req",
    "-in",
    file("redis.csr"),
    "-CA",
    file("ca.crt"),
    "-CAkey",
    file("ca.key"),
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    file("san.ext"),
    "-out",
    file("redis.crt"),
  );
  return { ca: file("ca.crt"), cert: file("redis.crt"), key: file("redis.key") };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "agw-tls-"));
  const certs = makeCertificates();
  caFile = certs.ca;
  tlsPort = await freePort();
  redis = await startRedisServer({
    extraArgs: [
      "--tls-port",
      String(tlsPort),
      "--tls-cert-file",
      certs.cert,
      "--tls-key-file",
      certs.key,
      "--tls-ca-cert-file",
      certs.ca,
      "--tls-auth-clients",
      "no",
    ],
  });
}, 60_000);

afterAll(async () => {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("a Redis reached over TLS (rediss://)", () => {
  it("governs and charges as on a plain connection when the server's certificate is trusted", async () => {
    const stack = await startMoneyStack({
      redisUrl: `rediss://127.0.0.1:${tlsPort}`,
      probeRedis: singleRedis(redis.url),
      env: { NODE_EXTRA_CA_CERTS: caFile },
      tenants: [cappedTenant("acme", 2)],
    });
    try {
      expect((await fetch(`${stack.urls[0] ?? ""}/readyz`)).status).toBe(200);
      const answers = [await stack.submit("acme"), await stack.submit("acme"), await stack.submit("acme")];
      expect(answers.map((a) => a.status)).toEqual([200, 200, 402]);
      expect((await stack.poll("acme", answers[0]?.taskId ?? "")).status).toBe(200);
      // The ledger is in the server the probe reads through its plain port: the gateway wrote it over TLS.
      expect(await stack.probe.spentMicros("acme")).toBe(2 * PRICE_MICROS);
      expect(await stack.probe.problems("acme")).toEqual([]);
    } finally {
      await stack.close();
    }
  }, 60_000);

  it("refuses to govern over a certificate it cannot check: not ready, 503, nothing sent to APIXO or charged", async () => {
    const stack = await startMoneyStack({
      redisUrl: `rediss://127.0.0.1:${tlsPort}`,
      probeRedis: singleRedis(redis.url),
      tenants: [cappedTenant("acme", 2)],
    });
    try {
      const readyz = await fetch(`${stack.urls[0] ?? ""}/readyz`);
      expect(readyz.status).toBe(503);
      const answer = await stack.submit("acme");
      expect(answer.status).toBe(503);
      expect(answer.type).toBe("LIMITS_UNAVAILABLE");
      expect(stack.simulator.stats.tasks).toBe(0);
      expect(await stack.probe.spentMicros("acme")).toBe(0);
    } finally {
      await stack.close();
    }
  }, 60_000);
});

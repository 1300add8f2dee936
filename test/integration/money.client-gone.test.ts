import { createConnection } from "node:net";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { GENEROUS_LIMITS } from "../helpers/gatewayHarness.js";
import { SUBMIT_BODY, eventually, startMoneyStack, type MoneyStack } from "../helpers/moneyHarness.js";
import { startRedisServer, type RedisServer } from "../helpers/redisServer.js";

let redis: RedisServer | undefined;
let stack: MoneyStack | undefined;
afterEach(async () => {
  await stack?.close();
  await redis?.stop();
  stack = undefined;
  redis = undefined;
});

describe("a client that disconnects before its submit is forwarded", () => {
  it("releases the reservation made for it and sends APIXO nothing", async () => {
    redis = await startRedisServer();
    stack = await startMoneyStack({
      redisUrl: redis.url,
      tenants: [{ id: "acme", limits: GENEROUS_LIMITS }],
    });
    const { probe, simulator } = stack;
    // Redis holds the admission back long enough for the client to give up, not long enough to look dead.
    const admin = new Redis(redis.url);
    await admin.call("CLIENT", "PAUSE", "400", "ALL");
    const url = new URL(stack.urls[0] ?? "");
    const socket = createConnection({ host: url.hostname, port: Number(url.port) });
    socket.on("error", () => undefined);
    socket.write(
      `POST /api/v1/generateTask/nano-banana HTTP/1.1\r\nHost: ${url.host}\r\n` +
        `Authorization: Bearer ${stack.keys.acme ?? ""}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(SUBMIT_BODY)}\r\n\r\n${SUBMIT_BODY}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();

    await eventually(async () => (await stack!.metric("reservations_total", 'fate="released"')) === 1);
    admin.disconnect();
    expect(simulator.stats.count("generateTask")).toBe(0);
    expect(await probe.spentMicros("acme")).toBe(0);
    expect(await probe.reservations("acme")).toEqual([]);
    expect((await probe.snapshot("acme")).inFlight).toBe(0);
    expect(await stack.metric("reservations_total", 'fate="charged"')).toBe(0);
    expect(await probe.problems("acme")).toEqual([]);
    // The audit line says what the client saw: nginx's 499, nothing charged.
    await eventually(() => stack!.processes[0]!.stdout.some((l) => l.includes('"status":499')));
  }, 30_000);
});

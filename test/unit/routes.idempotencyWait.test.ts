import { describe, expect, it } from "vitest";
import { CallbackService } from "../../src/callbacks/service.js";
import { MemoryCallbackStore } from "../../src/callbacks/memoryStore.js";
import { systemResolver } from "../../src/callbacks/urlGuard.js";
import { CallbackWorker } from "../../src/callbacks/worker.js";
import { ManualClock } from "../../src/clock.js";
import { configSchema } from "../../src/config/schema.js";
import { GatewayError } from "../../src/errors/catalog.js";
import { Journal } from "../../src/ledger/journal.js";
import { LedgerWriter } from "../../src/ledger/writer.js";
import { Governor } from "../../src/limits/governor.js";
import { MemoryStore } from "../../src/limits/memory.js";
import { newContext } from "../../src/routes/context.js";
import type { RouteDeps } from "../../src/routes/deps.js";
import type { Reply } from "../../src/routes/reply.js";
import { submitRoute } from "../../src/routes/submit.js";
import { noEvents } from "../../src/telemetry/events.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { noopTracer } from "../../src/telemetry/tracer.js";
import { hashGatewayKey } from "../../src/tenants/keys.js";
import { buildSnapshot } from "../../src/tenants/snapshot.js";
import { BalanceCache } from "../../src/upstream/balanceCache.js";
import { UpstreamClient } from "../../src/upstream/client.js";
import { createUpstreamProtection } from "../../src/upstream/protection.js";
import type { Exchange, UpstreamAnswer } from "../../src/upstream/transport.js";

const TIMEOUT_MS = 5_000;
/** admitSubmit waits for an earlier request with the same key this long past its own start. */
const WAIT_MS = TIMEOUT_MS + 1_000;
const ACCEPTED = Buffer.from('{"code":200,"message":"success","data":{"taskId":"task-1"}}');

/** APIXO's wire, held: every submit waits until the test answers it. */
class HeldTransport {
  readonly sent: Exchange[] = [];
  private readonly waiting: ((answer: UpstreamAnswer) => void)[] = [];

  exchange(exchange: Exchange): Promise<UpstreamAnswer> {
    this.sent.push(exchange);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  answer(body: Buffer): void {
    this.waiting.shift()?.({
      status: 200,
      headers: { "content-type": "application/json" },
      body,
      upstreamMs: 1,
    });
  }
}

/** The submit route with its real parts (memory store, governor, ledger writer, upstream client). */
function setup() {
  const clock = new ManualClock(Date.UTC(2026, 11, 1, 12));
  const config = configSchema.parse({
    upstream: { keys: [{ alias: "main", key: "sk-test" }], timeoutMs: TIMEOUT_MS },
    tenants: [{ id: "acme", upstreamKey: "main", keys: [{ hash: hashGatewayKey("agw_test") }] }],
  });
  const snapshot = buildSnapshot(config, clock.now());
  const logger = createLogger("silent");
  const store = new MemoryStore({ clock });
  const events = noEvents;
  const governor = new Governor({
    store,
    clock,
    events,
    logger,
    tracer: noopTracer,
    failurePolicy: () => "fail-closed",
    gate: () => ({ maxConcurrent: 100, maxQueued: 100 }),
  });
  const ledger = new LedgerWriter({
    store,
    journal: new Journal({ maxEntries: 10, path: undefined, onChange: () => undefined }),
    events,
    clock,
    logger,
    observe: (operation, call) => governor.observe(operation, call),
  });
  const transport = new HeldTransport();
  const protection = createUpstreamProtection(clock, events);
  const upstream = new UpstreamClient({
    transport,
    breakers: protection.breakers,
    polls: protection.polls,
    clock,
    events,
    tracer: noopTracer,
    settings: () => ({ baseUrl: config.upstream.baseUrl, protection: config.upstream.protection }),
  });
  const callbackStore = new MemoryCallbackStore(clock);
  const worker = new CallbackWorker({
    store: callbackStore,
    governor,
    ledger,
    upstream,
    tracer: noopTracer,
    events,
    clock,
    logger,
    snapshot: () => snapshot,
    resolve: systemResolver,
  });
  const deps: RouteDeps = {
    tracer: noopTracer,
    governor,
    ledger,
    upstream,
    balances: new BalanceCache(clock, 5_000),
    lastKnown: protection.lastKnown,
    callbacks: new CallbackService({
      store: callbackStore,
      worker,
      events,
      clock,
      logger,
      resolve: systemResolver,
    }),
    events,
    clock,
  };
  const route = submitRoute(deps);

  /** One client's submit with `Idempotency-Key: key`, its outcome readable while it runs. */
  const submit = (key: string, clientGone: () => boolean = () => false) => {
    const ctx = newContext({
      requestId: `req-${key}`,
      method: "POST",
      startedMs: clock.monotonicMs(),
      snapshot,
    });
    ctx.policy = snapshot.policy("acme");
    const state: { reply?: Reply; error?: unknown } = {};
    const done = route(ctx, {
      model: "nano-banana",
      body: Buffer.from('{"input":{"prompt":"a lighthouse"}}'),
      attribution: { user: undefined, feature: undefined },
      idempotencyKey: key,
      clientGone,
    }).then(
      (reply) => {
        state.reply = reply;
      },
      (err: unknown) => {
        state.error = err;
      },
    );
    return { ctx, state, done, settled: () => "reply" in state || "error" in state };
  };
  return { clock, store, transport, submit };
}

/** Lets promise chains run; nothing here waits on real time. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}

describe("a duplicate submit (same Idempotency-Key) while the first is in progress", () => {
  it("waits, without reaching APIXO, and gets the first's answer replayed once it is recorded", async () => {
    const { clock, store, transport, submit } = setup();
    const first = submit("key-1");
    await until(() => transport.sent.length === 1);
    const duplicate = submit("key-1");
    // It asks the store again after each wait on the clock (20, 40, 80 ms...), and keeps waiting.
    for (const waitMs of [20, 40, 80]) {
      await until(() => clock.sleeping === 1);
      clock.advance(waitMs);
    }
    await until(() => clock.sleeping === 1);
    expect(duplicate.settled()).toBe(false);

    transport.answer(ACCEPTED);
    await first.done;
    expect(first.state.reply).toMatchObject({ kind: "upstream", answer: { status: 200 } });
    clock.advance(250);
    await duplicate.done;
    expect(duplicate.state.reply).toEqual({
      kind: "stored",
      answer: { status: 200, contentType: "application/json", body: ACCEPTED },
      headers: { "Idempotent-Replayed": "true" },
    });
    expect(duplicate.ctx.facts.decisions).toEqual(["idempotent_replay"]);
    expect(transport.sent).toHaveLength(1);
    // One task, charged once.
    const [day] = await store.spendOfDays("acme", ["2026-12-01"]);
    expect(day?.spentMicros).toBeGreaterThan(0);
    expect((await store.snapshot("acme", "2026-12-01")).inFlight).toBe(1);
  });

  it("gives up with 504 UPSTREAM_TIMEOUT once the wait passes upstream.timeoutMs + 1 s, never reaching APIXO", async () => {
    const { clock, store, transport, submit } = setup();
    const first = submit("key-2");
    await until(() => transport.sent.length === 1);
    const startedMs = clock.monotonicMs();
    const duplicate = submit("key-2");
    const stepMs = 10;
    while (!duplicate.settled()) {
      expect(clock.monotonicMs() - startedMs).toBeLessThanOrEqual(WAIT_MS + 250 + stepMs);
      await until(() => clock.sleeping === 1 || duplicate.settled());
      if (!duplicate.settled()) clock.advance(stepMs);
    }
    // Not before the deadline, and at the first look after it (the waits grow to 250 ms at most).
    const waitedMs = clock.monotonicMs() - startedMs;
    expect(waitedMs).toBeGreaterThan(WAIT_MS);
    expect(waitedMs).toBeLessThanOrEqual(WAIT_MS + 250 + stepMs);
    expect(duplicate.state.error).toBeInstanceOf(GatewayError);
    expect(duplicate.state.error).toMatchObject({ type: "UPSTREAM_TIMEOUT", status: 504 });
    expect(transport.sent).toHaveLength(1);
    // The duplicate reserved nothing: the first's reservation is the only one.
    expect(await store.reservations("acme")).toHaveLength(1);

    transport.answer(ACCEPTED);
    await first.done;
  });

  it("stops waiting as soon as its client is gone", async () => {
    const { clock, transport, submit } = setup();
    const first = submit("key-3");
    await until(() => transport.sent.length === 1);
    let gone = false;
    const duplicate = submit("key-3", () => gone);
    await until(() => clock.sleeping === 1);
    gone = true;
    clock.advance(20);
    await duplicate.done;
    expect(duplicate.state.error).toMatchObject({ type: "UPSTREAM_TIMEOUT" });
    expect(transport.sent).toHaveLength(1);
    transport.answer(ACCEPTED);
    await first.done;
  });
});

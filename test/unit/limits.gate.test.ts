import { describe, expect, it } from "vitest";
import { AdmissionGate, OVERLOADED } from "../../src/limits/gate.js";

/** A call that finishes only when the test says so. */
function held<T>(value: T): { promise: Promise<T>; finish: () => void; started: boolean } {
  let finish: () => void = () => undefined;
  const promise = new Promise<T>((resolve) => {
    finish = () => {
      resolve(value);
    };
  });
  return { started: false, promise, finish: () => finish() };
}

describe("the admission gate", () => {
  it("runs at most maxConcurrent calls, queues up to maxQueued, and sheds the rest without running them", async () => {
    const gate = new AdmissionGate(() => ({ maxConcurrent: 2, maxQueued: 1 }));
    const calls = [held(1), held(2), held(3), held(4)];
    const results = calls.map((call) =>
      gate.run(() => {
        call.started = true;
        return call.promise;
      }),
    );
    await Promise.resolve();
    expect(calls.map((c) => c.started)).toEqual([true, true, false, false]);
    expect(await results[3]).toBe(OVERLOADED);
    calls[0]?.finish();
    await results[0];
    await new Promise((resolve) => setImmediate(resolve));
    // The freed turn went to the queued call, not to a fifth one.
    expect(calls[2]?.started).toBe(true);
    calls[1]?.finish();
    calls[2]?.finish();
    expect(await Promise.all(results.slice(0, 3))).toEqual([1, 2, 3]);
    expect(calls[3]?.started).toBe(false);
  });

  it("gives a turn back when a call fails, and reads its limits on every call", async () => {
    let limits = { maxConcurrent: 1, maxQueued: 0 };
    const gate = new AdmissionGate(() => limits);
    await expect(gate.run(() => Promise.reject(new Error("store fault")))).rejects.toThrow("store fault");
    const first = held("a");
    const running = gate.run(() => first.promise);
    expect(await gate.run(() => Promise.resolve("b"))).toBe(OVERLOADED);
    limits = { maxConcurrent: 2, maxQueued: 0 };
    expect(await gate.run(() => Promise.resolve("c"))).toBe("c");
    first.finish();
    expect(await running).toBe("a");
  });
});

import { describe, expect, it } from "vitest";
import { Coalescer, pollKey } from "../../src/upstream/coalesce.js";

/** A piece of work the test finishes when it wants, counting how often it was started. */
function controllable<T>() {
  let started = 0;
  const pending: { resolve: (value: T) => void; reject: (err: unknown) => void }[] = [];
  const work = (): Promise<T> => {
    started += 1;
    return new Promise<T>((resolve, reject) => pending.push({ resolve, reject }));
  };
  return {
    work,
    started: () => started,
    resolve: (value: T) => pending.shift()?.resolve(value),
    reject: (err: unknown) => pending.shift()?.reject(err),
  };
}

describe("poll coalescing", () => {
  it("lets concurrent callers with one key share one piece of work, flagging those who joined", async () => {
    const coalescer = new Coalescer<string>();
    const w = controllable<string>();
    const first = coalescer.run("k", w.work);
    const second = coalescer.run("k", w.work);
    const third = coalescer.run("k", w.work);
    expect(w.started()).toBe(1);
    expect([first.shared, second.shared, third.shared]).toEqual([false, true, true]);
    w.resolve("answer");
    expect(await Promise.all([first.promise, second.promise, third.promise])).toEqual([
      "answer",
      "answer",
      "answer",
    ]);
  });

  it("keeps different keys apart", () => {
    const coalescer = new Coalescer<string>();
    const w = controllable<string>();
    expect(coalescer.run("a", w.work).shared).toBe(false);
    expect(coalescer.run("b", w.work).shared).toBe(false);
    expect(w.started()).toBe(2);
  });

  it("forgets the work once it settled: the next caller starts fresh work, never a stale result", async () => {
    const coalescer = new Coalescer<string>();
    const w = controllable<string>();
    const first = coalescer.run("k", w.work);
    w.resolve("old");
    expect(await first.promise).toBe("old");
    const next = coalescer.run("k", w.work);
    expect(next.shared).toBe(false);
    expect(w.started()).toBe(2);
    w.resolve("new");
    expect(await next.promise).toBe("new");
  });

  it("shares a rejection with every caller, and does not keep it for the next one", async () => {
    const coalescer = new Coalescer<string>();
    const w = controllable<string>();
    const failure = new Error("APIXO reset the connection");
    const first = coalescer.run("k", w.work);
    const second = coalescer.run("k", w.work);
    w.reject(failure);
    await expect(first.promise).rejects.toBe(failure);
    await expect(second.promise).rejects.toBe(failure);
    const retry = coalescer.run("k", w.work);
    expect(retry.shared).toBe(false);
    expect(w.started()).toBe(2);
    w.resolve("recovered");
    expect(await retry.promise).toBe("recovered");
  });

  it("keys a poll by upstream alias, model and task id, so no part can stand in for another", () => {
    expect(pollKey("main", "flux2", "t1")).toBe(pollKey("main", "flux2", "t1"));
    expect(pollKey("main", "flux2", "t1")).not.toBe(pollKey("backup", "flux2", "t1"));
    expect(pollKey("main", "flux2", "t1")).not.toBe(pollKey("main", "nano-banana", "t1"));
    // Joined naively, "a|b" + "c" and "a" + "b|c" would be one key.
    expect(pollKey("a|b", "c", "t")).not.toBe(pollKey("a", "b|c", "t"));
  });
});

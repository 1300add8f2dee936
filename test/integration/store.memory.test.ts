import { ManualClock } from "../../src/clock.js";
import { MemoryStore } from "../../src/limits/memory.js";
import { describeStoreContract } from "./store.contract.js";

describeStoreContract("memory", () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 22, 12));
  const store = new MemoryStore({ clock });
  return Promise.resolve({
    store,
    advanceMs: (ms: number) => {
      clock.advance(ms);
    },
    storeNowMs: () => Promise.resolve(clock.now()),
    close: () => store.close(),
  });
});

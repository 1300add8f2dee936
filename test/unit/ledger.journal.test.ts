import { mkdtempSync, readFileSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Journal } from "../../src/ledger/journal.js";
import type { LedgerWrite } from "../../src/ledger/writes.js";

const record = (taskId: string, body = Buffer.from('{"code":200}')): LedgerWrite => ({
  kind: "record",
  task: {
    tenantId: "acme",
    taskId,
    model: "flux2",
    costMicros: 30_000,
    day: "2026-12-01",
    reservationId: `r-${taskId}`,
    upstream: "main",
    ttlSec: 3600,
    attribution: {},
    idempotency: { key: "k", ttlSec: 60, answer: { status: 200, contentType: "application/json", body } },
  },
});

const file = () => join(mkdtempSync(join(tmpdir(), "agw-journal-test-")), "journal.jsonl");

describe("the write-behind journal", () => {
  it("reads its file back after a restart: the same writes, in order, answer bytes exact", () => {
    const path = file();
    const bytes = Buffer.from([0x7b, 0x22, 0xe2, 0x82, 0xac, 0x22, 0x7d, 0x00, 0xff]);
    const first = new Journal({ maxEntries: 10, path });
    first.append(record("t1", bytes));
    first.append(record("t2"));
    first.close();
    const second = new Journal({ maxEntries: 10, path });
    expect(second.size).toBe(2);
    expect(second.peek()).toEqual(record("t1", bytes));
    second.shift();
    expect(second.peek()).toEqual(record("t2"));
  });

  it("skips a line a crash cut short, and keeps the writes before it", () => {
    const path = file();
    const journal = new Journal({ maxEntries: 10, path });
    journal.append(record("t1"));
    journal.close();
    appendFileSync(path, '{"kind":"record","task":{"tenantId":"ac');
    expect(new Journal({ maxEntries: 10, path }).size).toBe(1);
  });

  it("drops and counts a write past maxEntries instead of blocking", () => {
    const changes: [number, number][] = [];
    const journal = new Journal({
      maxEntries: 2,
      path: undefined,
      onChange: (depth, dropped) => changes.push([depth, dropped]),
    });
    expect([journal.append(record("a")), journal.append(record("b")), journal.append(record("c"))]).toEqual([
      true,
      true,
      false,
    ]);
    expect(changes).toEqual([
      [1, 0],
      [2, 0],
      [2, 1],
    ]);
  });

  it("empties its file once every write in it is applied", () => {
    const path = file();
    const journal = new Journal({ maxEntries: 10, path });
    journal.append(record("a"));
    journal.append(record("b"));
    journal.shift();
    expect(readFileSync(path, "utf8").split("\n").filter(Boolean)).toHaveLength(2);
    journal.shift();
    expect(readFileSync(path, "utf8")).toBe("");
    journal.append(record("c"));
    journal.close();
    expect(new Journal({ maxEntries: 10, path }).peek()).toEqual(record("c"));
  });

  it("starts empty from a file that holds nothing", () => {
    const path = file();
    writeFileSync(path, "\n\n");
    expect(new Journal({ maxEntries: 10, path }).size).toBe(0);
  });
});

import { closeSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { bufferedAuditOutput, createLogger } from "../../src/telemetry/logger.js";

const fds: number[] = [];
afterEach(() => {
  for (const fd of fds.splice(0)) closeSync(fd);
});

function tempFile(): { fd: number; read: () => string[] } {
  const path = join(mkdtempSync(join(tmpdir(), "agw-audit-")), "audit.log");
  const fd = openSync(path, "a");
  fds.push(fd);
  return {
    fd,
    read: () =>
      readFileSync(path, "utf8")
        .split("\n")
        .filter((l) => l !== ""),
  };
}

describe("the audit log's buffer", () => {
  it("is off with 0 bytes: every line is written as it is logged", () => {
    expect(bufferedAuditOutput({ bytes: 0, flushMs: 1000 })).toBeUndefined();
  });

  it("holds lines until a block is full, then writes them whole, in order", () => {
    const file = tempFile();
    // A timer far beyond the test: only the block size or flushSync can write.
    const output = bufferedAuditOutput({ bytes: 1024, flushMs: 60_000 }, file.fd);
    if (output === undefined) throw new Error("buffering is on");
    const audit = createLogger("info", output);
    for (let i = 0; i < 3; i++) audit.info({ n: i }, "short");
    expect(file.read()).toEqual([]);
    for (let i = 3; i < 20; i++) audit.info({ n: i, pad: "x".repeat(60) }, "longer");
    const written = file.read().map((l) => (JSON.parse(l) as { n: number }).n);
    expect(written.length).toBeGreaterThan(0);
    expect(written.length).toBeLessThan(20);
    expect(written).toEqual(written.map((_, i) => i));
    output.flushSync();
    expect(file.read().map((l) => (JSON.parse(l) as { n: number }).n)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
  });
});

import type { NewTask, ReleaseRequest, SettleRequest, UnknownOutcome } from "../limits/store.js";

/** What the settle of a task reports once it has happened (taskFinished), wherever it is applied from. */
export interface SettleReport {
  readonly tenant: string;
  readonly model: string;
  readonly costTimeMs: number | undefined;
}

/**
 * One ledger write, as a value: applied to the store at once, or kept in the journal and applied later in
 * order. Every one is idempotent in the store, so applying one twice (a crash between applying it and
 * forgetting it) changes nothing.
 */
export type LedgerWrite =
  | { readonly kind: "record"; readonly task: NewTask }
  | { readonly kind: "release"; readonly release: ReleaseRequest }
  | { readonly kind: "unknown"; readonly outcome: UnknownOutcome }
  | { readonly kind: "settle"; readonly settle: SettleRequest; readonly report: SettleReport };

/** The journal file's line for a write: JSON, with answer bodies as base64 so replays stay byte-exact. */
export function encodeWrite(write: LedgerWrite): string {
  return JSON.stringify(write, (_key, value: unknown) => {
    if (isBufferJson(value)) return { base64: Buffer.from(value.data).toString("base64") };
    return value;
  });
}

export function decodeWrite(line: string): LedgerWrite {
  const parsed = JSON.parse(line, (key, value: unknown) => {
    if (key === "body" && typeof value === "object" && value !== null && "base64" in value) {
      return Buffer.from(String(value.base64), "base64");
    }
    return value;
  }) as unknown;
  if (!isWrite(parsed)) throw new Error("not a ledger write");
  return withAttribution(parsed);
}

/** A journal line written before attribution existed carries none: the write is unattributed. */
function withAttribution(write: LedgerWrite): LedgerWrite {
  if (write.kind === "record" && (write.task.attribution as unknown) === undefined) {
    return { ...write, task: { ...write.task, attribution: {} } };
  }
  if (write.kind === "unknown" && (write.outcome.charge.attribution as unknown) === undefined) {
    const { outcome } = write;
    return { ...write, outcome: { ...outcome, charge: { ...outcome.charge, attribution: {} } } };
  }
  return write;
}

/** What JSON.stringify makes of a Buffer before the replacer sees it. */
function isBufferJson(value: unknown): value is { type: "Buffer"; data: number[] } {
  return (
    typeof value === "object" &&
    value !== null &&
    "type" in value &&
    value.type === "Buffer" &&
    "data" in value &&
    Array.isArray(value.data)
  );
}

const KINDS = new Set(["record", "release", "unknown", "settle"]);

function isWrite(value: unknown): value is LedgerWrite {
  return typeof value === "object" && value !== null && "kind" in value && KINDS.has(String(value.kind));
}

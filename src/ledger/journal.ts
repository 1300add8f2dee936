import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { decodeWrite, encodeWrite, type LedgerWrite } from "./writes.js";

export interface JournalOptions {
  /** Writes kept at most; beyond it a write is dropped (and counted), never blocking the request path. */
  readonly maxEntries: number;
  /**
   * A file that keeps the journal across a crash of this process (one file per process). Without it the
   * journal lives in memory only.
   */
  readonly path: string | undefined;
  /** Told after every change: the depth, and how many writes were dropped by this change. */
  readonly onChange?: (depth: number, dropped: number) => void;
}

/**
 * The write-behind journal: ledger writes the store could not take, in order, until they are applied.
 *
 * With a file, every write is appended with one synchronous write(2) before the request goes on, so a crash
 * of the process loses nothing the journal accepted (the kernel holds the bytes); a crash of the machine may
 * lose what the OS had not flushed. The file is emptied once every write in it is applied; writes applied
 * before a crash are applied again on start, which the store's idempotent writes make harmless.
 */
export class Journal {
  private readonly entries: LedgerWrite[] = [];
  private fd: number | undefined;

  constructor(private readonly options: JournalOptions) {
    if (options.path === undefined) return;
    this.fd = openSync(options.path, "a+");
    let dropped = 0;
    for (const line of readFileSync(options.path, "utf8").split("\n")) {
      if (line.trim() === "") continue;
      try {
        if (this.entries.length < options.maxEntries) this.entries.push(decodeWrite(line));
        else dropped += 1;
      } catch {
        // A line cut short by a crash mid-write: the write it held was never acknowledged as journaled.
      }
    }
    this.options.onChange?.(this.entries.length, dropped);
  }

  /** True when the journal is kept in a file: what it accepted survives a crash of the process. */
  get durable(): boolean {
    return this.fd !== undefined;
  }

  get size(): number {
    return this.entries.length;
  }

  peek(): LedgerWrite | undefined {
    return this.entries[0];
  }

  /** False when the journal is full: the write is lost (and counted). */
  append(write: LedgerWrite): boolean {
    if (this.entries.length >= this.options.maxEntries) {
      this.options.onChange?.(this.entries.length, 1);
      return false;
    }
    if (this.fd !== undefined) writeSync(this.fd, `${encodeWrite(write)}\n`);
    this.entries.push(write);
    this.options.onChange?.(this.entries.length, 0);
    return true;
  }

  /** A write that never reached the journal was lost (a write the store refused as wrong): count it. */
  countDropped(): void {
    this.options.onChange?.(this.entries.length, 1);
  }

  /** The oldest write is applied (or dropped as unappliable): forget it. */
  shift(options: { readonly dropped?: boolean } = {}): void {
    this.entries.shift();
    if (this.entries.length === 0 && this.fd !== undefined) ftruncateSync(this.fd, 0);
    this.options.onChange?.(this.entries.length, options.dropped === true ? 1 : 0);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

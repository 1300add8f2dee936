import type { CapWindow, DayWindow } from "./store.js";

/**
 * Tenant-local calendar days. A day is named "YYYY-MM-DD" in the tenant's IANA zone and starts at the first
 * instant whose local date is that day, which is not always local midnight (DST gaps at 00:00 exist).
 */

const FIELDS = {
  date: { calendar: "gregory", numberingSystem: "latn", year: "numeric", month: "2-digit", day: "2-digit" },
  clock: {
    hourCycle: "h23",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZoneName: "longOffset",
  },
} as const satisfies Record<string, Intl.DateTimeFormatOptions>;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** One formatter per zone and kind: building one costs far more than formatting with it. */
function formatterFor(timeZone: string, kind: keyof typeof FIELDS = "date"): Intl.DateTimeFormat {
  const key = `${kind}|${timeZone}`;
  let formatter = formatters.get(key);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-US", { timeZone, ...FIELDS[kind] });
    formatters.set(key, formatter);
  }
  return formatter;
}

/** The local date of an instant, "YYYY-MM-DD". */
export function localDay(timeZone: string, atMs: number): string {
  let year = "";
  let month = "";
  let day = "";
  for (const part of formatterFor(timeZone).formatToParts(atMs)) {
    if (part.type === "year") year = part.value.padStart(4, "0");
    else if (part.type === "month") month = part.value;
    else if (part.type === "day") day = part.value;
  }
  return `${year}-${month}-${day}`;
}

/**
 * An instant as the tenant's wall clock with its offset, "2027-01-01T00:00:00+09:00": what a 402 tells a
 * person about when their budget comes back.
 */
export function localIso(timeZone: string, atMs: number): string {
  const day = localDay(timeZone, atMs);
  const parts = formatterFor(timeZone, "clock").formatToParts(atMs);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "00";
  const offset = get("timeZoneName").replace("GMT", "");
  return `${day}T${get("hour")}:${get("minute")}:${get("second")}${offset === "" ? "Z" : offset}`;
}

/** Calendar arithmetic on a "YYYY-MM-DD" name, independent of any zone. */
export function addDays(day: string, delta: number): string {
  const [y, m, d] = day.split("-").map(Number);
  const utc = new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, (d ?? 1) + delta));
  return utc.toISOString().slice(0, 10);
}

const HOUR_MS = 3_600_000;

/** First instant whose local date is `day` (or later). Zone offsets lie within -12h..+14h, so search ±15h. */
export function startOfDayMs(timeZone: string, day: string): number {
  const [y, m, d] = day.split("-").map(Number);
  const utcMidnightMs = Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1);
  let lo = utcMidnightMs - 15 * HOUR_MS; // local date is before `day`
  let hi = utcMidnightMs + 15 * HOUR_MS; // local date is `day` or later
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (localDay(timeZone, mid) >= day) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The first day of the month after `day`'s: "2026-12-31" -> "2027-01-01". */
export function firstOfNextMonth(day: string): string {
  const [y, m] = day.split("-").map(Number);
  return new Date(Date.UTC(y ?? 1970, m ?? 1, 1)).toISOString().slice(0, 10);
}

/** Every day of a month ("YYYY-MM"), "YYYY-MM-01" first. */
export function daysOfMonth(month: string): string[] {
  const days: string[] = [];
  for (let day = `${month}-01`; day.startsWith(month); day = addDays(day, 1)) days.push(day);
  return days;
}

const resets = new Map<string, number>();

/** When a cap counted on `day` starts afresh: the next day's start, or the next month's for a monthly cap. */
export function capResetMs(timeZone: string, window: CapWindow, day: string): number {
  const next = window === "monthly" ? firstOfNextMonth(day) : addDays(day, 1);
  // Remembered: a burst of 402s asks for the same few instants, and each costs a search of ~50 Intl calls.
  const key = `${timeZone}|${next}`;
  let startMs = resets.get(key);
  if (startMs === undefined) {
    if (resets.size >= 1000) resets.clear();
    startMs = startOfDayMs(timeZone, next);
    resets.set(key, startMs);
  }
  return startMs;
}

export function dayWindow(timeZone: string, nowMs: number): DayWindow {
  const today = localDay(timeZone, nowMs);
  const tomorrow = addDays(today, 1);
  return {
    yesterday: addDays(today, -1),
    today,
    tomorrow,
    startTodayMs: startOfDayMs(timeZone, today),
    startTomorrowMs: startOfDayMs(timeZone, tomorrow),
  };
}

/** Reuses each zone's window until its day ends: a day's bounds cost ~50 Intl calls, a lookup costs none. */
export class DayWindowCache {
  private readonly windows = new Map<string, DayWindow>();

  get(timeZone: string, nowMs: number): DayWindow {
    const cached = this.windows.get(timeZone);
    if (cached !== undefined && cached.startTodayMs <= nowMs && nowMs < cached.startTomorrowMs) return cached;
    const fresh = dayWindow(timeZone, nowMs);
    this.windows.set(timeZone, fresh);
    return fresh;
  }
}

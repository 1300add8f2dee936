import { describe, expect, it } from "vitest";
import { isValidTimeZone } from "../../src/clock.js";
import { addDays, dayWindow, DayWindowCache, localDay } from "../../src/limits/days.js";

const HOUR_MS = 3_600_000;

describe("tenant-local days", () => {
  it("names the day in UTC by default semantics", () => {
    expect(dayWindow("UTC", Date.UTC(2026, 10, 22, 23, 59, 59, 999))).toEqual({
      yesterday: "2026-11-21",
      today: "2026-11-22",
      tomorrow: "2026-11-23",
      startTodayMs: Date.UTC(2026, 10, 22),
      startTomorrowMs: Date.UTC(2026, 10, 23),
    });
  });

  it("has 23 hours on the New York spring-forward day and 25 on the fall-back day", () => {
    const spring = dayWindow("America/New_York", Date.UTC(2026, 2, 8, 12));
    expect(spring.today).toBe("2026-03-08");
    expect(spring.startTodayMs).toBe(Date.UTC(2026, 2, 8, 5)); // midnight EST
    expect(spring.startTomorrowMs - spring.startTodayMs).toBe(23 * HOUR_MS);
    const fall = dayWindow("America/New_York", Date.UTC(2026, 10, 1, 12));
    expect(fall.startTodayMs).toBe(Date.UTC(2026, 10, 1, 4)); // midnight EDT
    expect(fall.startTomorrowMs - fall.startTodayMs).toBe(25 * HOUR_MS);
  });

  it("handles half-hour and 45-minute offsets (Kolkata, Chatham)", () => {
    const kolkata = dayWindow("Asia/Kolkata", Date.UTC(2026, 0, 1, 18, 30));
    expect(kolkata.today).toBe("2026-01-02");
    expect(kolkata.startTodayMs).toBe(Date.UTC(2026, 0, 1, 18, 30));
    expect(dayWindow("Asia/Kolkata", Date.UTC(2026, 0, 1, 18, 29, 59, 999)).today).toBe("2026-01-01");
    // Chatham leaves DST (+13:45 -> +12:45) at 03:45 local on 2026-04-05: that day lasts 25 hours.
    const chatham = dayWindow("Pacific/Chatham", Date.UTC(2026, 3, 5, 0));
    expect(chatham.today).toBe("2026-04-05");
    expect(chatham.startTodayMs).toBe(Date.UTC(2026, 3, 4, 10, 15));
    expect(chatham.startTomorrowMs - chatham.startTodayMs).toBe(25 * HOUR_MS);
  });

  it("starts a day at the end of a DST gap when local midnight does not exist (Santiago)", () => {
    const w = dayWindow("America/Santiago", Date.UTC(2026, 8, 6, 12));
    expect(w.today).toBe("2026-09-06");
    expect(w.startTodayMs).toBe(Date.UTC(2026, 8, 6, 4)); // 01:00 -03, the first instant of the day
    expect(localDay("America/Santiago", w.startTodayMs - 1)).toBe("2026-09-05");
  });

  it("crosses month and year boundaries by calendar", () => {
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(addDays("2028-03-01", -1)).toBe("2028-02-29");
    expect(dayWindow("Pacific/Kiritimati", Date.UTC(2026, 11, 31, 10)).today).toBe("2027-01-01");
  });

  it("validates zone names", () => {
    expect(isValidTimeZone("Europe/Berlin")).toBe(true);
    expect(isValidTimeZone("UTC")).toBe(true);
    expect(isValidTimeZone("Mars/Olympus")).toBe(false);
    expect(isValidTimeZone("")).toBe(false);
  });

  it("reuses a cached window until the day ends", () => {
    const cache = new DayWindowCache();
    const first = cache.get("Asia/Kolkata", Date.UTC(2026, 0, 1, 12));
    expect(cache.get("Asia/Kolkata", Date.UTC(2026, 0, 1, 18, 29))).toBe(first);
    expect(cache.get("Asia/Kolkata", Date.UTC(2026, 0, 1, 18, 30)).today).toBe("2026-01-02");
  });
});

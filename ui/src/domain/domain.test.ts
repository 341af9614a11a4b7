import { describe, expect, it } from "vitest";
import { BusinessClock } from "./clock";
import { formatAge, formatClock, formatDistance, formatDuration, formatInteger, shortId } from "./format";
import { lateness } from "./lateness";
import { isStale, RIDER_COLOURS, riderColours } from "./riders";
import { countByStatus, STATUS_KEYS, STATUS_STYLES, statusColourExpression, statusKey } from "./status";

describe("status palette", () => {
  it("folds created and sourced into unassigned", () => {
    expect(statusKey("created")).toBe("unassigned");
    expect(statusKey("sourced")).toBe("unassigned");
    expect(statusKey("picked_up")).toBe("picked_up");
    expect(statusKey("something-new")).toBe("unassigned");
  });

  it("has one distinct colour per bucket, unassigned first", () => {
    const colours = STATUS_KEYS.map((k) => STATUS_STYLES[k].colour);
    expect(new Set(colours).size).toBe(colours.length);
    expect(STATUS_KEYS[0]).toBe("unassigned");
  });

  it("counts every bucket, zeros included", () => {
    const counts = countByStatus([{ status: "sourced" }, { status: "created" }, { status: "delivered" }]);
    expect(counts.unassigned).toBe(2);
    expect(counts.delivered).toBe(1);
    expect(counts.failed).toBe(0);
  });

  it("builds the same colours into the map expression", () => {
    const expression = statusColourExpression();
    expect(expression.slice(0, 2)).toEqual(["match", ["get", "status"]]);
    expect(expression).toContain(STATUS_STYLES.on_hold.colour);
    expect(expression.length).toBe(2 + STATUS_KEYS.length * 2 + 1);
  });
});

describe("lateness", () => {
  const end = "2026-12-07T12:00:00Z";
  const endMs = Date.parse(end);
  it("is late past the window for open orders only", () => {
    expect(lateness({ status: "assigned", window_end_at: end }, endMs + 60_000)).toEqual({ state: "late", byMs: 60_000 });
    expect(lateness({ status: "delivered", window_end_at: end }, endMs + 60_000).state).toBe("on_time");
  });
  it("is at risk when the ETA or the plan says so", () => {
    expect(lateness({ status: "assigned", window_end_at: end }, endMs - 1000, endMs + 5000)).toEqual({ state: "at_risk", byMs: 5000 });
    expect(lateness({ status: "sourced", window_end_at: end }, endMs - 1000, null, 120)).toEqual({ state: "at_risk", byMs: 120_000 });
    expect(lateness({ status: "assigned", window_end_at: end }, endMs - 1000, endMs - 10).state).toBe("on_time");
  });
});

describe("format", () => {
  it("durations", () => {
    expect(formatDuration(42)).toBe("42 s");
    expect(formatDuration(-600)).toBe("10 min");
    expect(formatDuration(3900)).toBe("1 h 05 min");
  });
  it("ages", () => {
    expect(formatAge(1000)).toBe("just now");
    expect(formatAge(40_000)).toBe("40 s ago");
    expect(formatAge(3 * 60_000)).toBe("3 min ago");
    expect(formatAge(7_300_000)).toBe("2 h ago");
    expect(formatAge(Number.NaN)).toBe("never");
  });
  it("distances, integers, clocks, ids", () => {
    expect(formatDistance(850.4)).toBe("850 m");
    expect(formatDistance(12_400)).toBe("12.4 km");
    expect(formatInteger(1234567)).toBe("1\u2009234\u2009567");
    expect(formatClock("2026-12-07T13:05:00Z", "UTC")).toBe("13:05");
    expect(formatClock(null)).toBe("–");
    expect(shortId("ord_7f3a9c2b11")).toBe("3a9c2b11");
    expect(shortId("o-12")).toBe("12");
  });
});

describe("business clock", () => {
  it("extrapolates at the server's speed", () => {
    const clock = new BusinessClock({ now: "2026-12-07T08:00:00Z", speed: 30 }, 1_000_000);
    expect(clock.now(1_010_000)).toBe(Date.parse("2026-12-07T08:05:00Z"));
    // a fix 5 business minutes old is 10 wall seconds old at 30x
    expect(clock.wallAgeMs(Date.parse("2026-12-07T08:00:00Z"), 1_010_000)).toBe(10_000);
  });
  it("falls back to real time", () => {
    const clock = new BusinessClock(null, 5000);
    expect(clock.now(6000)).toBe(6000);
    expect(clock.speed).toBe(1);
  });
});

describe("rider colours", () => {
  it("are stable and unique up to the palette size", () => {
    const ids = Array.from({ length: RIDER_COLOURS.length }, (_, i) => `rider-${i}`);
    const a = riderColours(ids);
    const b = riderColours([...ids].reverse());
    expect([...a.entries()]).toEqual([...b.entries()]);
    expect(new Set(a.values()).size).toBe(RIDER_COLOURS.length);
  });
  it("stale fixes", () => {
    expect(isStale(null)).toBe(true);
    expect(isStale(10_000)).toBe(false);
    expect(isStale(61_000)).toBe(true);
  });
});

import { describe, expect, it } from "vitest";
import { ageLevel, holdAge, reasonLabel, sortQueue } from "./queue";

const at = (minute: number) => new Date(Date.UTC(2026, 11, 7, 10, minute)).toISOString();

describe("the holds queue", () => {
  it("formats ages", () => {
    expect(holdAge(42_000)).toBe("42 s");
    expect(holdAge(12 * 60_000 + 59_000)).toBe("12 min");
    expect(holdAge(2 * 3600_000 + 5 * 60_000)).toBe("2 h 05 min");
    expect(holdAge(76 * 3600_000)).toBe("3 d 4 h");
    expect(holdAge(-5000)).toBe("0 s");
    expect(holdAge(Number.NaN)).toBe("–");
  });

  it("grades the wait", () => {
    expect(ageLevel(10 * 60_000)).toBe("ok");
    expect(ageLevel(45 * 60_000)).toBe("warn");
    expect(ageLevel(3 * 3600_000)).toBe("late");
  });

  it("puts the oldest hold first and names reasons", () => {
    const holds = [
      { id: 3, reason: "damaged", box_id: null, order_ids: [], placed_at: at(5) },
      { id: 1, reason: "temperature_excursion", box_id: "b", order_ids: ["o"], placed_at: at(9) },
      { id: 2, reason: "box_offline", box_id: "b", order_ids: [], placed_at: at(5) },
    ];
    expect(sortQueue(holds).map((h) => h.id)).toEqual([2, 3, 1]);
    expect(reasonLabel("temperature_excursion")).toBe("Temperature excursion");
    expect(reasonLabel("new_code")).toBe("New code");
  });
});

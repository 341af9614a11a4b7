import { describe, expect, it } from "vitest";
import { bucketFor, celsius, chartSeries, readingsWindow } from "./chartData";

const at = (minute: number) => new Date(Date.UTC(2026, 11, 7, 10, minute)).toISOString();
const band = { low_c: 2, high_c: 8 };

describe("the excursion chart's series", () => {
  it("carries the band as two flat series and counts points outside it", () => {
    const readings = [5, 9, 12, 7, 1].map((t, i) => ({ at: at(i), temp_c: t }));
    const s = chartSeries(readings, [], band);
    expect(s.data[0]).toEqual(readings.map((r) => Date.parse(r.at) / 1000));
    expect(s.data[1]).toEqual([5, 9, 12, 7, 1]);
    expect(s.data[2]).toEqual([8, 8, 8, 8, 8]);
    expect(s.data[3]).toEqual([2, 2, 2, 2, 2]);
    expect(s.outOfBand).toBe(3);
    expect(s.yRange[0]).toBeLessThanOrEqual(1);
    expect(s.yRange[1]).toBeGreaterThanOrEqual(12);
  });

  it("breaks the line where the box fell silent, and sorts", () => {
    const readings = [
      { at: at(40), temp_c: 6 },
      { at: at(0), temp_c: 5 },
      { at: at(1), temp_c: 5.5 },
    ];
    const s = chartSeries(readings, [], band);
    expect(s.data[1]).toEqual([5, 5.5, null, 6]);
    expect(s.data[0][2]).toBeCloseTo((Date.parse(at(1)) + Date.parse(at(40))) / 2000);
    expect(s.data[0]).toHaveLength(s.data[2].length);
  });

  it("uses bucket averages when there are no raw readings", () => {
    const buckets = [{ start: at(0), avg_c: 4, min_c: 3, max_c: 5 }, { start: at(5), avg_c: 10, min_c: 9, max_c: 11 }];
    const s = chartSeries([], buckets, band);
    expect(s.data[1]).toEqual([4, 10]);
    expect(s.outOfBand).toBe(1);
  });

  it("shows the band even without readings", () => {
    const s = chartSeries([], [], band);
    expect(s.data[0]).toEqual([]);
    expect(s.yRange[0]).toBeLessThan(2);
    expect(s.yRange[1]).toBeGreaterThan(8);
  });

  it("asks for the excursion with margins, in buckets that fit", () => {
    expect(readingsWindow(at(30), at(50))).toEqual({ from: at(0), to: at(80) });
    expect(bucketFor(at(0), at(50))).toBe(60);
    const week = new Date(Date.parse(at(0)) + 7 * 86_400_000).toISOString();
    expect(bucketFor(at(0), week)).toBe(660);
    expect(celsius(12.345)).toBe("12.3 °C");
    expect(celsius(null)).toBe("–");
  });
});

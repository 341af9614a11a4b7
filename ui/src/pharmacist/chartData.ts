// The excursion chart's data, pure: uPlot's columns (seconds, temperature,
// band top, band bottom), with a gap wherever the box fell silent so a line
// never bridges missing readings, and the facts the chart states beside it.

export interface Band {
  low_c: number;
  high_c: number;
}

export interface RawPoint {
  at: string;
  temp_c: number;
}

export interface BucketPoint {
  start: string;
  avg_c: number;
  min_c: number;
  max_c: number;
}

export interface ChartSeries {
  /** uPlot's aligned columns: x (epoch s), temperature, band top, band bottom. */
  data: [number[], (number | null)[], number[], number[]];
  /** Points outside the band. */
  outOfBand: number;
  /** y range that shows the band and every point, with a margin. */
  yRange: [number, number];
}

/** A silence longer than this breaks the line (seconds). */
export const GAP_S = 15 * 60;

/** Raw readings, or bucket averages (worst case shown via min/max elsewhere). */
export function chartSeries(
  readings: readonly RawPoint[],
  buckets: readonly BucketPoint[],
  band: Band,
  gapS: number = GAP_S,
): ChartSeries {
  const points: [number, number][] = readings.length
    ? readings.map((r) => [Date.parse(r.at) / 1000, r.temp_c])
    : buckets.map((b) => [Date.parse(b.start) / 1000, b.avg_c]);
  const sorted = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).sort((a, b) => a[0] - b[0]);
  const xs: number[] = [];
  const ys: (number | null)[] = [];
  let outOfBand = 0;
  let lo = band.low_c;
  let hi = band.high_c;
  for (let i = 0; i < sorted.length; i += 1) {
    const [x, y] = sorted[i]!;
    const prev = sorted[i - 1];
    if (prev && x - prev[0] > gapS) {
      xs.push((x + prev[0]) / 2);
      ys.push(null);
    }
    xs.push(x);
    ys.push(y);
    if (y < band.low_c || y > band.high_c) outOfBand += 1;
    lo = Math.min(lo, y);
    hi = Math.max(hi, y);
  }
  const margin = Math.max(1, (hi - lo) * 0.1);
  return {
    data: [xs, ys, xs.map(() => band.high_c), xs.map(() => band.low_c)],
    outOfBand,
    yRange: [Math.floor(lo - margin), Math.ceil(hi + margin)],
  };
}

/** The readings range to ask for: the excursion with half an hour either side. */
export function readingsWindow(startedAt: string, until: string, padS: number = 1800): { from: string; to: string } {
  const start = Date.parse(startedAt) - padS * 1000;
  const end = Date.parse(until) + padS * 1000;
  return { from: new Date(start).toISOString(), to: new Date(end).toISOString() };
}

/** A bucket (seconds) that keeps the chart under `maxPoints` over the window. */
export function bucketFor(from: string, to: string, maxPoints = 1000): number {
  const span = (Date.parse(to) - Date.parse(from)) / 1000;
  return Math.max(60, Math.ceil(span / maxPoints / 60) * 60);
}

/** "12.3 °C" or "–". */
export function celsius(value: number | null | undefined): string {
  return value == null || !Number.isFinite(value) ? "–" : `${value.toFixed(1)} °C`;
}

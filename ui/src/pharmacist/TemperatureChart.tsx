// The box's temperature over the excursion (uPlot): the allowed band shaded
// between its top and bottom, the excursion's span tinted, a gap where the box
// fell silent. The numbers that decide (MKT, minutes out) sit beside it.
import "uplot/dist/uPlot.min.css";
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import type { BoxReadings } from "../api/types";
import { formatClock } from "../domain/format";
import { celsius, chartSeries } from "./chartData";

interface Props {
  readings: BoxReadings;
  /** The excursion's span (ISO); end null while it is open. */
  startedAt: string;
  endedAt: string | null;
}

function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

export function TemperatureChart({ readings, startedAt, endedAt }: Props) {
  const host = useRef<HTMLDivElement | null>(null);
  const series = chartSeries(readings.readings, readings.buckets, readings.band);
  const band = readings.band;

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const text = cssVar("--text", "#111827");
    const muted = cssVar("--muted", "#4b5563");
    const grid = cssVar("--border", "#d9dee5");
    const start = Date.parse(startedAt) / 1000;
    const end = endedAt ? Date.parse(endedAt) / 1000 : null;
    const opts: uPlot.Options = {
      width: Math.max(240, el.clientWidth),
      height: 260,
      scales: { x: { time: true }, y: { range: series.yRange } },
      legend: { show: true, live: false },
      series: [
        { label: "Time", value: (_u, v) => (v == null ? "–" : formatClock(v * 1000)) },
        { label: "Temperature", stroke: "#dc2626", width: 2, value: (_u, v) => celsius(v), spanGaps: false },
        { label: `Band top (${celsius(band.high_c)})`, stroke: "#15803d", width: 1, dash: [6, 4], points: { show: false } },
        { label: `Band bottom (${celsius(band.low_c)})`, stroke: "#2563eb", width: 1, dash: [6, 4], points: { show: false } },
      ],
      bands: [{ series: [2, 3], fill: "rgba(21, 128, 61, 0.16)" }],
      axes: [
        {
          stroke: muted,
          grid: { stroke: grid },
          ticks: { stroke: grid },
          values: (_u, ticks) => ticks.map((t) => formatClock(t * 1000)),
        },
        { stroke: muted, grid: { stroke: grid }, ticks: { stroke: grid }, values: (_u, ticks) => ticks.map((t) => `${t} °C`), size: 60 },
      ],
      hooks: {
        drawClear: [
          (u) => {
            const x0 = u.valToPos(start, "x", true);
            const x1 = end !== null ? u.valToPos(end, "x", true) : u.bbox.left + u.bbox.width;
            const left = Math.max(u.bbox.left, Math.min(x0, x1));
            const right = Math.min(u.bbox.left + u.bbox.width, Math.max(x0, x1));
            if (right <= left) return;
            u.ctx.save();
            u.ctx.fillStyle = "rgba(220, 38, 38, 0.06)";
            u.ctx.fillRect(left, u.bbox.top, right - left, u.bbox.height);
            u.ctx.restore();
          },
        ],
      },
    };
    const plot = new uPlot(opts, series.data as uPlot.AlignedData, el);
    el.dataset.drawn = "true";
    el.style.color = text;
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(240, el.clientWidth), height: 260 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
      delete el.dataset.drawn;
    };
  }, [readings, startedAt, endedAt]);

  const label =
    `Temperature of box ${readings.box_id} from ${formatClock(readings.from)} to ${formatClock(readings.to)}: ` +
    `${series.data[0].length} points, ${series.outOfBand} outside the allowed ${celsius(band.low_c)} to ${celsius(band.high_c)}.`;
  return (
    <figure class="chart" data-testid="excursion-chart">
      <div
        ref={host}
        class="chart-plot"
        role="img"
        aria-label={label}
        data-testid="chart-plot"
        data-band-low={band.low_c}
        data-band-high={band.high_c}
        data-points={readings.readings.length || readings.buckets.length}
        data-out-of-band={series.outOfBand}
      />
      <figcaption>
        Allowed band {celsius(band.low_c)} – {celsius(band.high_c)} (shaded green); the excursion is tinted red.
        {readings.bucket_s ? ` Averages per ${Math.round(readings.bucket_s / 60)} min.` : ""}
      </figcaption>
    </figure>
  );
}

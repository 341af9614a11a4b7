// The patient's view of their order, as GET /track/{token} and the
// `tracking.updated` frames of /ws/track/{token} give it, and what the page
// derives from it: the timeline, whether it runs late, the times to show.
// Pure: no DOM, no fetch (tested with vitest).
import type { StringKey } from "./strings";

export type PatientStatus =
  | "preparing"
  | "assigned"
  | "on_the_way"
  | "delivered"
  | "delayed"
  | "not_delivered"
  | "cancelled"
  | "replaced";

const STATUSES: readonly PatientStatus[] = [
  "preparing",
  "assigned",
  "on_the_way",
  "delivered",
  "delayed",
  "not_delivered",
  "cancelled",
  "replaced",
];

export interface LatLon {
  lat: number;
  lon: number;
}

export interface TrackingView {
  status: PatientStatus;
  window_start_at: string;
  window_end_at: string;
  eta_at: string | null;
  rider_position: LatLon | null;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isTime = (value: unknown): value is string =>
  typeof value === "string" && Number.isFinite(Date.parse(value));

function parsePoint(value: unknown): LatLon | null | undefined {
  if (value === null) return null;
  if (!isObject(value)) return undefined;
  const { lat, lon } = value;
  if (typeof lat !== "number" || typeof lon !== "number") return undefined;
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) return undefined;
  return { lat, lon };
}

export function isPatientStatus(value: unknown): value is PatientStatus {
  return typeof value === "string" && (STATUSES as readonly string[]).includes(value);
}

/**
 * Apply one `tracking.updated` frame (the whole view, or only the fields that
 * changed) to `current`. A field that is malformed is ignored, never half
 * applied; null `current` needs a whole view.
 */
export function applyUpdate(current: TrackingView | null, data: unknown): TrackingView | null {
  if (!isObject(data)) return current;
  const next: Partial<TrackingView> = { ...(current ?? {}) };
  if ("status" in data && isPatientStatus(data.status)) next.status = data.status;
  if ("window_start_at" in data && isTime(data.window_start_at)) next.window_start_at = data.window_start_at;
  if ("window_end_at" in data && isTime(data.window_end_at)) next.window_end_at = data.window_end_at;
  if ("eta_at" in data && (data.eta_at === null || isTime(data.eta_at))) next.eta_at = data.eta_at;
  if ("rider_position" in data) {
    const point = parsePoint(data.rider_position);
    if (point !== undefined) next.rider_position = point;
  }
  if (!next.status || !next.window_start_at || !next.window_end_at) return current;
  return {
    status: next.status,
    window_start_at: next.window_start_at,
    window_end_at: next.window_end_at,
    eta_at: next.eta_at ?? null,
    rider_position: next.rider_position ?? null,
  };
}

/** Finished one way or another: no ETA, no rider, no lateness. */
export function isClosed(status: PatientStatus): boolean {
  return status === "delivered" || status === "not_delivered" || status === "cancelled" || status === "replaced";
}

/**
 * The rider is shown only while on the way to this patient: the order is picked
 * up and the server sends a position (it does only while this delivery is the
 * rider's next stop).
 */
export function riderToShow(view: TrackingView): LatLon | null {
  return view.status === "on_the_way" ? view.rider_position : null;
}

export type Lateness = "held" | "eta_after_window" | "window_passed" | null;

/**
 * Why the delivery runs late, honestly: held at the pharmacy, an ETA after the
 * window's end, or the window already over; null when on time or closed.
 */
export function lateness(view: TrackingView, nowMs: number): Lateness {
  if (view.status === "delayed") return "held";
  if (isClosed(view.status)) return null;
  const end = Date.parse(view.window_end_at);
  if (view.eta_at !== null && Date.parse(view.eta_at) > end) return "eta_after_window";
  if (nowMs > end) return "window_passed";
  return null;
}

export const LATE_MESSAGE: Record<Exclude<Lateness, null>, StringKey> = {
  held: "late.held",
  eta_after_window: "late.eta",
  window_passed: "late.passed",
};

export interface Headline {
  /** The large line: delivered, closed, the ETA, "to follow", or the window. */
  key: "eta.delivered" | "eta.closed" | "eta.around" | "eta.unknown" | "eta.window";
  /** Show the agreed window under it (else the large line is the window itself). */
  showWindow: boolean;
}

/**
 * What the large line says. Never a promise that no longer holds: held or
 * past the window with no ETA, a new arrival time is to follow.
 */
export function headline(view: TrackingView, nowMs: number): Headline {
  if (view.status === "delivered") return { key: "eta.delivered", showWindow: true };
  if (isClosed(view.status)) return { key: "eta.closed", showWindow: true };
  if (view.eta_at !== null) return { key: "eta.around", showWindow: true };
  if (lateness(view, nowMs) !== null) return { key: "eta.unknown", showWindow: true };
  return { key: "eta.window", showWindow: false };
}

export type StepState = "done" | "current" | "upcoming" | "problem";

export interface Step {
  key: StringKey;
  state: StepState;
}

/**
 * The status timeline: always the same four steps (prepared, rider assigned,
 * on the way, delivered), each done, current or upcoming; a hold or a failure
 * replaces the step it interrupts with a problem step, never shown as progress.
 */
export function timeline(status: PatientStatus): Step[] {
  const steps: StringKey[] = ["step.preparing", "step.assigned", "step.on_the_way", "step.delivered"];
  const upTo = (current: number): Step[] =>
    steps.map((key, i) => ({ key, state: i < current ? "done" : i === current ? "current" : "upcoming" }));
  switch (status) {
    case "preparing":
      return upTo(0);
    case "assigned":
      return upTo(1);
    case "on_the_way":
      return upTo(2);
    case "delivered":
      return upTo(4);
    case "delayed":
      return [
        { key: "step.delayed", state: "problem" },
        { key: "step.on_the_way", state: "upcoming" },
        { key: "step.delivered", state: "upcoming" },
      ];
    case "not_delivered":
      return [...upTo(3).slice(0, 3), { key: "step.not_delivered", state: "problem" }];
    case "cancelled":
      return [{ key: "step.cancelled", state: "problem" }];
    case "replaced":
      return [{ key: "step.replaced", state: "problem" }];
  }
}

/** "14:05" in `timeZone`, or "Tue 8 Dec, 14:05" when not on `todayMs`'s date there. */
export function formatTime(iso: string, timeZone: string, todayMs: number, locale = "en-GB"): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return "–";
  const clock = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", hour12: false, timeZone });
  const day = new Intl.DateTimeFormat(locale, { year: "numeric", month: "2-digit", day: "2-digit", timeZone });
  if (day.format(ms) === day.format(todayMs)) return clock.format(ms);
  const dated = new Intl.DateTimeFormat(locale, {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
    timeZone,
  });
  return dated.format(ms);
}

/** The start and end of the window, the end without its date when on the same day. */
export function formatWindow(
  view: Pick<TrackingView, "window_start_at" | "window_end_at">,
  timeZone: string,
  todayMs: number,
  locale = "en-GB",
): { start: string; end: string } {
  const start = formatTime(view.window_start_at, timeZone, todayMs, locale);
  const startMs = Date.parse(view.window_start_at);
  const sameDayAsStart = Number.isFinite(startMs) ? startMs : todayMs;
  return { start, end: formatTime(view.window_end_at, timeZone, sameDayAsStart, locale) };
}

/** The delivery code in an `otp` message body ("Your delivery code is 123456"). */
export function otpCode(body: string): string | null {
  const match = /\b(\d{4,8})\b/.exec(body);
  return match ? (match[1] ?? null) : null;
}

/** The token in the page's fragment (`#rxd_trk_...`), or null. */
export function tokenFromHash(hash: string): string | null {
  const value = decodeURIComponent(hash.replace(/^#/, "")).trim();
  return /^[A-Za-z0-9_-]{16,200}$/.test(value) ? value : null;
}

// The dispatcher's cold-chain alerts, pure: one alert per excursion, however
// many readings or frames arrive (keyed by the server's `alert_id`,
// "excursion.opened:<excursion id>"); a silent box is its own kind;
// acknowledged alerts stay acknowledged across resyncs (the server keeps the
// acknowledgement, and a local one is never undone by an older snapshot).
import type { FeedMessage } from "../live/envelope";

export type ColdAlertKind = "excursion" | "box_silent";

export interface ColdAlert {
  alertId: string;
  excursionId: number;
  kind: ColdAlertKind;
  /** temperature_high, temperature_low, box_silent, door_open, low_battery */
  excursionKind: string;
  boxId: string;
  /** When the rule alarmed (ISO), if known. */
  since: string | null;
  peakC: number | null;
  acknowledged: boolean;
}

export type ColdAlerts = ReadonlyMap<string, ColdAlert>;

/** The subset of the snapshot's AlertRead this module reads. */
export interface SnapshotAlert {
  alert_id: string;
  kind: string;
  since?: string | null;
  box_id?: string | null;
  reason?: string | null;
  acknowledged?: boolean;
}

const PREFIX = "excursion.opened:";

/** The excursion id in an alert id, or null when it names something else. */
export function excursionIdOf(alertId: string): number | null {
  if (!alertId.startsWith(PREFIX)) return null;
  const id = Number(alertId.slice(PREFIX.length));
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

export function kindOf(excursionKind: string): ColdAlertKind {
  return excursionKind === "box_silent" ? "box_silent" : "excursion";
}

/** The alerts a dashboard snapshot lists, merged with what the page knew:
 * the snapshot decides which are open; an acknowledgement is never lost. */
export function fromSnapshot(alerts: readonly SnapshotAlert[], known: ColdAlerts): Map<string, ColdAlert> {
  const next = new Map<string, ColdAlert>();
  for (const a of alerts) {
    const excursionId = excursionIdOf(a.alert_id);
    if (a.kind !== "excursion.opened" || excursionId === null) continue;
    const before = known.get(a.alert_id);
    const excursionKind = a.reason ?? before?.excursionKind ?? "temperature_high";
    next.set(a.alert_id, {
      alertId: a.alert_id,
      excursionId,
      kind: kindOf(excursionKind),
      excursionKind,
      boxId: a.box_id ?? before?.boxId ?? "",
      since: a.since ?? before?.since ?? null,
      peakC: before?.peakC ?? null,
      acknowledged: Boolean(a.acknowledged) || Boolean(before?.acknowledged),
    });
  }
  return next;
}

const str = (v: unknown): string | null => (typeof v === "string" && v ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The alerts after one feed message; the same map when it changes nothing. */
export function applyFeedMessage(alerts: ColdAlerts, message: FeedMessage): ColdAlerts {
  if (message.type === "alert" && message.kind === "excursion.opened") {
    const d = message.data;
    const excursionId = num(d.excursion_id) ?? excursionIdOf(str(d.alert_id) ?? "");
    if (excursionId === null) return alerts;
    const alertId = str(d.alert_id) ?? `${PREFIX}${excursionId}`;
    const before = alerts.get(alertId);
    const excursionKind = str(d.kind) ?? before?.excursionKind ?? "temperature_high";
    const alert: ColdAlert = {
      alertId,
      excursionId,
      kind: kindOf(excursionKind),
      excursionKind,
      boxId: str(d.box_id) ?? before?.boxId ?? "",
      since: str(d.alarmed_at) ?? before?.since ?? message.ts,
      peakC: num(d.peak_c) ?? before?.peakC ?? null,
      acknowledged: before?.acknowledged ?? false,
    };
    if (before && JSON.stringify(before) === JSON.stringify(alert)) return alerts;
    const next = new Map(alerts);
    next.set(alertId, alert);
    return next;
  }
  if (message.type === "event" && message.name === "excursion.acknowledged") {
    const alertId = str(message.data.alert_id);
    return alertId ? acknowledge(alerts, alertId) : alerts;
  }
  return alerts;
}

export function acknowledge(alerts: ColdAlerts, alertId: string): ColdAlerts {
  const before = alerts.get(alertId);
  if (!before || before.acknowledged) return alerts;
  const next = new Map(alerts);
  next.set(alertId, { ...before, acknowledged: true });
  return next;
}

/** Banners to show: unacknowledged, newest first. */
export function openBanners(alerts: ColdAlerts): ColdAlert[] {
  return [...alerts.values()]
    .filter((a) => !a.acknowledged)
    .sort((a, b) => (b.since ?? "").localeCompare(a.since ?? "") || b.excursionId - a.excursionId);
}

const KIND_TEXT: Record<string, string> = {
  temperature_high: "too warm",
  temperature_low: "too cold",
  door_open: "door left open",
  low_battery: "battery low",
  box_silent: "no readings",
  seq_gap: "readings missing (sequence gap)",
};

/** The banner's headline: "Box silent" or "Cold-box excursion". */
export function bannerTitle(alert: ColdAlert): string {
  return alert.kind === "box_silent" ? "Box silent" : "Cold-box excursion";
}

/** "box-7 · too warm · peak 12.0 °C" */
export function bannerDetail(alert: ColdAlert): string {
  return [
    alert.boxId,
    KIND_TEXT[alert.excursionKind] ?? alert.excursionKind.replace(/_/g, " "),
    alert.peakC !== null && alert.kind === "excursion" ? `peak ${alert.peakC.toFixed(1)} °C` : null,
  ]
    .filter(Boolean)
    .join(" · ");
}

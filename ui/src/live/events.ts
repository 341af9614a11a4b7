// Feed messages as lines of the events drawer.
import type { FeedMessage } from "./envelope";

export type Severity = "info" | "warning" | "critical";

export interface FeedEvent {
  id: number;
  ts: string;
  severity: Severity;
  title: string;
  detail: string;
  orderId?: string;
  riderId?: string;
}

const ALERT_TITLES: Record<string, [string, Severity]> = {
  "excursion.opened": ["Cold-box excursion", "critical"],
  "hold.placed": ["Orders put on hold", "critical"],
  "otp.locked": ["Delivery code locked", "critical"],
  "proof.flagged": ["Hand-off outside radius", "warning"],
  "rider.changed": ["Rider changed", "info"],
  "rider.stop_released": ["Rider's next stop released", "warning"],
  "order.unassignable": ["Order cannot be served", "warning"],
  "stock.written_off": ["Stock written off", "warning"],
};

const text = (value: unknown): string | undefined =>
  typeof value === "string" && value ? value : undefined;

let nextId = 1;

/** "box_silent" -> "Box silent", "hold.released" -> "Hold released". */
export function humanise(code: string): string {
  const words = code.replace(/[._]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The drawer line of a message; null for traffic that is not an event. */
export function describe(message: FeedMessage): FeedEvent | null {
  const base = { id: nextId++, ts: message.ts };
  switch (message.type) {
    case "order.placed":
      return { ...base, severity: "info", title: "Order placed", detail: message.status, orderId: message.orderId };
    case "order.status_changed": {
      const failed = message.toStatus === "failed";
      return {
        ...base,
        severity: failed ? "warning" : "info",
        title: `Order ${message.toStatus.replace("_", " ")}`,
        detail: `${message.fromStatus.replace("_", " ")} → ${message.toStatus.replace("_", " ")}`,
        orderId: message.orderId,
      };
    }
    case "plan.updated":
      return {
        ...base,
        severity: message.unassigned ? "warning" : "info",
        title: `Plan v${message.version} applied`,
        detail: `${plural(message.routes, "route")} · ${message.assigned} assigned · ${message.unassigned} unassigned`,
      };
    case "geofence":
      return {
        ...base,
        severity: "info",
        title: `Rider ${message.transition} (${message.kind})`,
        detail: message.orderId ?? "",
        riderId: message.riderId,
        ...(message.orderId ? { orderId: message.orderId } : {}),
      };
    case "alert": {
      const [title, severity] = ALERT_TITLES[message.kind] ?? [humanise(message.kind), "warning" as Severity];
      const d = message.data;
      const kind = text(d.kind) !== message.kind ? text(d.kind) : undefined;
      const detail = [kind && humanise(kind), text(d.reason), text(d.detail), text(d.what), text(d.box_id)]
        .filter(Boolean)
        .join(" · ");
      const orderId = text(d.order_id);
      const riderId = text(d.rider_id);
      return {
        ...base,
        severity,
        title,
        detail,
        ...(orderId ? { orderId } : {}),
        ...(riderId ? { riderId } : {}),
      };
    }
    case "event": {
      const orderId = text(message.data.order_id);
      return {
        ...base,
        severity: "info",
        title: humanise(message.name),
        detail: "",
        ...(orderId ? { orderId } : {}),
      };
    }
    default:
      return null;
  }
}

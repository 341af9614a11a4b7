// The websocket envelope of /ws/dispatch (api/live/envelope.py): every frame is
// {"v": 1, "type": str, "ts": RFC 3339, "data": ...}. Parsing is defensive: a
// frame that is not what it says is dropped, never half-applied.

export const ENVELOPE_VERSION = 1;

export interface PositionFix {
  rider_id: string;
  lat: number;
  lon: number;
  /** Business time of the fix (ISO 8601). */
  at: string;
  speed_mps?: number;
  heading_deg?: number;
}

export interface StopEta {
  stop_id: string;
  eta_at: string;
}

export type FeedMessage =
  | { type: "hello"; ts: string; role: string; subjectId: string; heartbeatS: number }
  | { type: "heartbeat"; ts: string }
  | { type: "pong"; ts: string }
  | { type: "positions"; ts: string; fixes: PositionFix[] }
  | { type: "order.placed"; ts: string; orderId: string; status: string }
  | {
      type: "order.status_changed";
      ts: string;
      orderId: string;
      fromStatus: string;
      toStatus: string;
      at: string;
    }
  | { type: "plan.updated"; ts: string; version: number; routes: number; assigned: number; unassigned: number }
  | { type: "eta.updated"; ts: string; riderId: string; etas: StopEta[] }
  | {
      type: "geofence";
      ts: string;
      riderId: string;
      transition: string;
      kind: string;
      orderId: string | null;
    }
  | { type: "alert"; ts: string; kind: string; data: Record<string, unknown> }
  | { type: "error"; ts: string; code: string }
  /** Anything else (hold.released, hold.rejected, ...): kept for the events drawer. */
  | { type: "event"; ts: string; name: string; data: Record<string, unknown> };

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const str = (value: unknown): string | null => (typeof value === "string" ? value : null);
const num = (value: unknown): number | null =>
  typeof value === "number" && Number.isFinite(value) ? value : null;

/** One position object of a `positions` frame, or null when malformed. */
export function parseFix(value: unknown): PositionFix | null {
  if (!isObject(value)) return null;
  const riderId = str(value.rider_id);
  const lat = num(value.lat);
  const lon = num(value.lon);
  const at = str(value.at);
  if (!riderId || lat == null || lon == null || !at) return null;
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180 || !Number.isFinite(Date.parse(at))) return null;
  const fix: PositionFix = { rider_id: riderId, lat, lon, at };
  const speed = num(value.speed_mps);
  const heading = num(value.heading_deg);
  if (speed != null) fix.speed_mps = speed;
  if (heading != null) fix.heading_deg = heading;
  return fix;
}

/** Parse one text frame; null when it is not a v1 envelope. */
export function parseFrame(raw: string): FeedMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!isObject(value) || value.v !== ENVELOPE_VERSION) return null;
  const type = str(value.type);
  const ts = str(value.ts) ?? new Date().toISOString();
  if (!type) return null;
  const data = value.data;
  switch (type) {
    case "hello": {
      if (!isObject(data)) return null;
      return {
        type,
        ts,
        role: str(data.role) ?? "",
        subjectId: str(data.subject_id) ?? "",
        heartbeatS: num(data.heartbeat_s) ?? 15,
      };
    }
    case "heartbeat":
    case "pong":
      return { type, ts };
    case "positions": {
      if (!Array.isArray(data)) return null;
      const fixes = data.map(parseFix).filter((f): f is PositionFix => f !== null);
      return { type, ts, fixes };
    }
    case "order.placed": {
      const orderId = isObject(data) ? str(data.order_id) : null;
      if (!isObject(data) || !orderId) return null;
      return { type, ts, orderId, status: str(data.status) ?? "created" };
    }
    case "order.status_changed": {
      if (!isObject(data)) return null;
      const orderId = str(data.order_id);
      const toStatus = str(data.to_status);
      if (!orderId || !toStatus) return null;
      return {
        type,
        ts,
        orderId,
        fromStatus: str(data.from_status) ?? "",
        toStatus,
        at: str(data.at) ?? ts,
      };
    }
    case "plan.updated": {
      if (!isObject(data)) return null;
      const version = num(data.version);
      if (version == null) return null;
      return {
        type,
        ts,
        version,
        routes: num(data.routes) ?? 0,
        assigned: num(data.assigned) ?? 0,
        unassigned: num(data.unassigned) ?? 0,
      };
    }
    case "eta.updated": {
      if (!isObject(data) || !Array.isArray(data.etas)) return null;
      const riderId = str(data.rider_id);
      if (!riderId) return null;
      const etas: StopEta[] = [];
      for (const item of data.etas) {
        if (isObject(item) && str(item.stop_id) && str(item.eta_at)) {
          etas.push({ stop_id: item.stop_id as string, eta_at: item.eta_at as string });
        }
      }
      return { type, ts, riderId, etas };
    }
    case "geofence": {
      if (!isObject(data)) return null;
      const riderId = str(data.rider_id);
      if (!riderId) return null;
      return {
        type,
        ts,
        riderId,
        transition: str(data.transition) ?? "",
        kind: str(data.kind) ?? "",
        orderId: str(data.order_id),
      };
    }
    case "alert": {
      if (!isObject(data)) return null;
      // the event's own type names the alert: `kind` is overwritten by events
      // that carry a field of that name (an excursion's kind, e.g. box_silent)
      return { type, ts, kind: str(data.type) ?? str(data.kind) ?? "alert", data };
    }
    case "error":
      return { type, ts, code: isObject(data) ? (str(data.code) ?? "error") : "error" };
    default:
      return { type: "event", ts, name: type, data: isObject(data) ? data : {} };
  }
}

/** Order ids a message says changed (to re-read them from the API). */
export function touchedOrders(message: FeedMessage): string[] {
  switch (message.type) {
    case "order.placed":
    case "order.status_changed":
      return [message.orderId];
    case "alert":
    case "event": {
      const data = message.data;
      const ids: string[] = [];
      if (typeof data.order_id === "string") ids.push(data.order_id);
      if (Array.isArray(data.order_ids)) {
        for (const id of data.order_ids) if (typeof id === "string") ids.push(id);
      }
      if (Array.isArray(data.replacements)) {
        for (const pair of data.replacements) {
          if (Array.isArray(pair)) for (const id of pair) if (typeof id === "string") ids.push(id);
        }
      }
      return ids;
    }
    default:
      return [];
  }
}

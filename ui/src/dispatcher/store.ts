// The dispatcher page's state (Preact signals). Live fixes are kept outside
// the signals' per-frame churn: the map reads them on each animation frame,
// the lists see a version bumped at most once a second.
import { computed, signal } from "@preact/signals";
import type { ApiError } from "../api/client";
import type { Order, Pharmacy, Plan, Rider, RiderBox } from "../api/types";
import { BusinessClock } from "../domain/clock";
import { lateness, type Lateness } from "../domain/lateness";
import { reasonText } from "../domain/reasons";
import { riderColours } from "../domain/riders";
import { STATUS_KEYS, countByStatus, isTerminal, statusKey, type StatusKey } from "../domain/status";
import type { PositionFix } from "../live/envelope";
import type { FeedEvent } from "../live/events";
import type { SocketState } from "../live/socket";

export interface UiConfig {
  map_style_url: string | null;
  service_area: GeoJSON.Geometry | null;
  clock: { now: string; speed: number };
}

export const config = signal<UiConfig | null>(null);
export const clock = signal(new BusinessClock(null));
/** Wall-clock tick (5 s) for ages and lateness. */
export const tick = signal(Date.now());

export const orders = signal<ReadonlyMap<string, Order>>(new Map());
export const riders = signal<ReadonlyMap<string, Rider>>(new Map());
export const pharmacies = signal<readonly Pharmacy[]>([]);
/** rider id -> the cold box they carry, with its newest temperature. */
export const riderBoxes = signal<ReadonlyMap<string, RiderBox>>(new Map());
export const plan = signal<Plan | null>(null);
/** stop id ("<order>:<kind>") -> ETA (ISO). */
export const etas = signal<ReadonlyMap<string, string>>(new Map());
export const events = signal<readonly FeedEvent[]>([]);
/** Riders' next stops a new plan had to release (alerts since the page opened). */
export const releasedStops = signal<readonly FeedEvent[]>([]);

export const connection = signal<SocketState>("connecting");
export const reconnectAttempt = signal(0);
export const syncing = signal(false);
export const lastSyncAt = signal<number | null>(null);
export const problem = signal<ApiError | null>(null);

export const search = signal("");
export const statusFilter = signal<ReadonlySet<StatusKey>>(new Set(STATUS_KEYS));
export const selectedOrder = signal<string | null>(null);
export const selectedRider = signal<string | null>(null);
export const followRider = signal<string | null>(null);
export const tab = signal<"orders" | "riders" | "plan">("orders");
export const drawerOpen = signal(false);
export const helpOpen = signal(false);

/** Latest fix per rider from the live feed (wins over GET /riders). */
export const liveFixes = new Map<string, PositionFix>();
export const fixesVersion = signal(0);

export const EVENTS_KEPT = 200;

export function pushEvent(event: FeedEvent): void {
  events.value = [event, ...events.value].slice(0, EVENTS_KEPT);
}

// ---- derived ---------------------------------------------------------------

export const riderColour = computed(() => riderColours(riders.value.keys()));

/** order id -> rider id and stop facts from the current plan. */
export const planIndex = computed(() => {
  const byOrder = new Map<string, { riderId: string; lateS: number; deliveryStop: string }>();
  for (const route of plan.value?.routes ?? []) {
    for (const stop of route.stops) {
      const entry = byOrder.get(stop.order_id) ?? { riderId: route.rider_id, lateS: 0, deliveryStop: "" };
      entry.lateS = Math.max(entry.lateS, stop.late_s);
      if (stop.kind === "delivery") entry.deliveryStop = `${stop.order_id}:delivery`;
      byOrder.set(stop.order_id, entry);
    }
  }
  const unassigned = new Map((plan.value?.unassigned ?? []).map((u) => [u.order_id, u]));
  return { byOrder, unassigned };
});

export interface OrderView {
  order: Order;
  status: StatusKey;
  riderId: string | null;
  late: Lateness;
  etaAt: string | null;
  /** Why the engine leaves it unassigned (plan or order). */
  reason: string | null;
  searchText: string;
}

export const orderViews = computed<OrderView[]>(() => {
  const now = clock.value.now(tick.value);
  const index = planIndex.value;
  const etaMap = etas.value;
  const views: OrderView[] = [];
  for (const order of orders.value.values()) {
    const status = statusKey(order.status);
    const planned = index.byOrder.get(order.id);
    const etaAt = isTerminal(status) ? null : (etaMap.get(`${order.id}:delivery`) ?? null);
    const unservable = index.unassigned.get(order.id);
    const reason =
      status === "unassigned"
        ? unservable
          ? reasonText(unservable.reason, unservable.detail)
          : order.unassigned_reason
            ? reasonText(order.unassigned_reason)
            : null
        : null;
    const riderId = order.rider_id ?? (isTerminal(status) ? null : (planned?.riderId ?? null));
    views.push({
      order,
      status,
      riderId,
      late: lateness(order, now, etaAt ? Date.parse(etaAt) : null, planned?.lateS ?? null),
      etaAt,
      reason: reason ?? null,
      searchText: [order.id, order.patient_ref, order.pharmacy_id, riderId, order.rider_id, reason]
        .filter(Boolean)
        .join(" ")
        .toLowerCase(),
    });
  }
  const rank = new Map(STATUS_KEYS.map((k, i) => [k, i]));
  views.sort(
    (a, b) =>
      (rank.get(a.status) ?? 0) - (rank.get(b.status) ?? 0) ||
      (b.late.state === "late" ? 1 : 0) - (a.late.state === "late" ? 1 : 0) ||
      a.order.window_end_at.localeCompare(b.order.window_end_at) ||
      a.order.id.localeCompare(b.order.id),
  );
  return views;
});

/** After the search box, before the status chips (the chips' counts). */
export const searchedOrders = computed(() => {
  const terms = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return orderViews.value;
  return orderViews.value.filter((v) => terms.every((t) => v.searchText.includes(t)));
});

export const statusCounts = computed(() => countByStatus(searchedOrders.value.map((v) => v.order)));

/** What the list and the map show. */
export const visibleOrders = computed(() => {
  const allowed = statusFilter.value;
  return searchedOrders.value.filter((v) => allowed.has(v.status));
});

export function toggleStatus(key: StatusKey, only = false): void {
  const current = statusFilter.value;
  if (only) {
    statusFilter.value = current.size === 1 && current.has(key) ? new Set(STATUS_KEYS) : new Set([key]);
    return;
  }
  const next = new Set(current);
  if (next.has(key)) next.delete(key);
  else next.add(key);
  statusFilter.value = next;
}

export interface RiderView {
  rider: Rider;
  colour: string;
  lat: number | null;
  lon: number | null;
  /** Business time of the fix (ISO), if any. */
  fixAt: string | null;
  /** Wall ms since the fix. */
  ageMs: number | null;
  stops: number;
  /** The first stop of the rider's route still ahead, if any. */
  nextStop: { orderId: string; kind: string; etaAt: string | null } | null;
  /** Minutes the rider's latest stop is expected past its window (0: on time). */
  lateMin: number;
}

/** Whether a planned stop is still ahead (its order open, a pickup not done). */
export function stopAhead(stop: { order_id: string; kind: string }): boolean {
  const order = orders.value.get(stop.order_id);
  if (!order) return true;
  const key = statusKey(order.status);
  if (isTerminal(key)) return false;
  return !(stop.kind === "pickup" && key === "picked_up");
}

/** Riders with their best-known position (the live feed wins). */
export function riderViews(wallNow: number = Date.now()): RiderView[] {
  const colours = riderColour.value;
  const stopsByRider = new Map<string, number>();
  const nextByRider = new Map<string, RiderView["nextStop"]>();
  const lateByRider = new Map<string, number>();
  const etaMap = etas.value;
  for (const route of plan.value?.routes ?? []) {
    const ahead = route.stops.filter(stopAhead);
    stopsByRider.set(route.rider_id, ahead.length);
    const first = ahead[0];
    if (first) {
      nextByRider.set(route.rider_id, {
        orderId: first.order_id,
        kind: first.kind,
        etaAt: etaMap.get(first.stop_id) ?? first.eta_at ?? first.planned_arrival_at,
      });
    }
    let lateMs = 0;
    for (const stop of ahead) {
      const order = orders.value.get(stop.order_id);
      if (stop.kind !== "delivery" || !order) continue;
      const at = etaMap.get(stop.stop_id) ?? stop.eta_at ?? stop.planned_arrival_at;
      const past = Date.parse(at) - Date.parse(order.window_end_at);
      lateMs = Math.max(lateMs, Number.isFinite(past) ? past : 0, stop.late_s * 1000);
    }
    lateByRider.set(route.rider_id, Math.ceil(lateMs / 60_000));
  }
  const views: RiderView[] = [];
  for (const rider of riders.value.values()) {
    const fix = liveFixes.get(rider.id);
    const lat = fix?.lat ?? rider.position?.lat ?? null;
    const lon = fix?.lon ?? rider.position?.lon ?? null;
    const fixAt = fix?.at ?? rider.position_at ?? null;
    views.push({
      rider,
      colour: colours.get(rider.id) ?? "#64748b",
      lat,
      lon,
      fixAt,
      ageMs: fixAt ? clock.value.wallAgeMs(Date.parse(fixAt), wallNow) : null,
      stops: stopsByRider.get(rider.id) ?? 0,
      nextStop: nextByRider.get(rider.id) ?? null,
      lateMin: lateByRider.get(rider.id) ?? 0,
    });
  }
  return views.sort((a, b) => a.rider.name.localeCompare(b.rider.name) || a.rider.id.localeCompare(b.rider.id));
}

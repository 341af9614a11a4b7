// Keeping the page true to the server: a full read at every (re)connect, then
// the live feed, with targeted re-reads for what an event says changed.
import { batch } from "@preact/signals";
import { ApiError, api } from "../api/client";
import type { Order, OrderPage, Pharmacy, Plan, Rider, RiderBox, UiConfigRead } from "../api/types";
import { BusinessClock } from "../domain/clock";
import { setBusinessTimeZone } from "../domain/format";
import type { FeedMessage } from "../live/envelope";
import { touchedOrders } from "../live/envelope";
import { describe } from "../live/events";
import { openDispatchFeed } from "../live/feed";
import { applyColdAlertMessage, loadColdAlerts } from "./ColdAlertBanners";
import type { LiveSocket } from "../live/socket";
import { liveProbe } from "../live/probe";
import {
  clock,
  config,
  connection,
  etas,
  fixesVersion,
  lastSyncAt,
  liveFixes,
  orders,
  pharmacies,
  plan,
  problem,
  pushEvent,
  reconnectAttempt,
  releasedStops,
  riderBoxes,
  riders,
  syncing,
  type UiConfig,
} from "./store";

const PAGE = 500;
const MAX_PAGES = 20;
const OPEN_STATUSES = ["created", "sourced", "assigned", "picked_up", "on_hold"];

/** Every order (oldest first, pages of 500), or those with the given statuses. */
async function fetchOrders(statuses: string[] = []): Promise<Order[]> {
  const all: Order[] = [];
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const query = new URLSearchParams({ limit: String(PAGE), offset: String(page * PAGE) });
    for (const s of statuses) query.append("status", s);
    const result = await api<OrderPage>(`/orders?${query}`);
    all.push(...result.items);
    if (all.length >= result.total || result.items.length === 0) break;
  }
  return all;
}

async function fetchPlan(): Promise<Plan | null> {
  try {
    return await api<Plan>("/plans/current");
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export async function loadConfig(): Promise<void> {
  const served = await api<UiConfigRead>("/ui/config", { auth: false });
  const value: UiConfig = {
    map_style_url: served.map.style_url ?? null,
    service_area: (served.city.service_area ?? null) as GeoJSON.Geometry | null,
    clock: served.clock,
  };
  batch(() => {
    config.value = value;
    clock.value = new BusinessClock(value.clock);
    setBusinessTimeZone(served.clock.time_zone);
  });
}

let syncRun = 0;

/** Re-read everything the page shows. */
export async function fullSync(): Promise<void> {
  const run = ++syncRun;
  syncing.value = true;
  try {
    const [allOrders, allRiders, allPharmacies, current, boxes] = await Promise.all([
      fetchOrders(),
      api<Rider[]>("/riders"),
      api<Pharmacy[]>("/pharmacies"),
      fetchPlan(),
      api<RiderBox[]>("/cold-boxes"),
      loadConfig(),
      loadColdAlerts(),
    ]);
    if (run !== syncRun) return;
    batch(() => {
      orders.value = new Map(allOrders.map((o) => [o.id, o]));
      riders.value = new Map(allRiders.map((r) => [r.id, r]));
      pharmacies.value = allPharmacies;
      plan.value = current;
      etas.value = etasOf(current);
      lastSyncAt.value = Date.now();
      problem.value = null;
    });
  } catch (error) {
    if (run === syncRun) problem.value = asApiError(error);
  } finally {
    if (run === syncRun) syncing.value = false;
  }
}

function boxesByRider(boxes: RiderBox[]): Map<string, RiderBox> {
  return new Map(boxes.map((b) => [b.rider_id, b]));
}

/** Cold-box temperatures: re-read every 30 s and when a box or rider changes. */
export async function refreshBoxes(): Promise<void> {
  try {
    riderBoxes.value = boxesByRider(await api<RiderBox[]>("/cold-boxes"));
  } catch (error) {
    problem.value = asApiError(error);
  }
}

function etasOf(current: Plan | null): Map<string, string> {
  const map = new Map<string, string>();
  for (const route of current?.routes ?? []) {
    for (const stop of route.stops) {
      if (stop.eta_at) map.set(`${stop.order_id}:${stop.kind}`, stop.eta_at);
    }
  }
  return map;
}

function asApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(0, "Unexpected error", String(error), "client_error");
}

// ---- targeted re-reads, debounced ------------------------------------------

const pendingOrders = new Set<string>();
let orderTimer: number | undefined;
let planTimer: number | undefined;
let ridersTimer: number | undefined;

function refreshOrdersSoon(ids: string[]): void {
  for (const id of ids) pendingOrders.add(id);
  window.clearTimeout(orderTimer);
  orderTimer = window.setTimeout(refreshPendingOrders, 250);
}

async function refreshPendingOrders(): Promise<void> {
  const ids = [...pendingOrders];
  pendingOrders.clear();
  try {
    const fresh =
      ids.length > 20
        ? await fetchOrders(OPEN_STATUSES)
        : await Promise.all(ids.map((id) => api<Order>(`/orders/${encodeURIComponent(id)}`)));
    const next = new Map(orders.value);
    for (const order of fresh) next.set(order.id, order);
    orders.value = next;
  } catch (error) {
    problem.value = asApiError(error);
  }
}

function refreshPlanSoon(): void {
  window.clearTimeout(planTimer);
  planTimer = window.setTimeout(async () => {
    try {
      const [current, open] = await Promise.all([fetchPlan(), fetchOrders(OPEN_STATUSES)]);
      batch(() => {
        plan.value = current;
        const merged = new Map(etas.value);
        for (const [k, v] of etasOf(current)) merged.set(k, v);
        etas.value = merged;
        const next = new Map(orders.value);
        for (const order of open) next.set(order.id, order);
        orders.value = next;
      });
    } catch (error) {
      problem.value = asApiError(error);
    }
  }, 400);
}

function refreshRidersSoon(): void {
  window.clearTimeout(ridersTimer);
  ridersTimer = window.setTimeout(async () => {
    try {
      const all = await api<Rider[]>("/riders");
      riders.value = new Map(all.map((r) => [r.id, r]));
    } catch (error) {
      problem.value = asApiError(error);
    }
  }, 500);
}

// ---- the live feed -----------------------------------------------------------

let listsTimer: number | undefined;
let onPositions: () => void = () => undefined;

/** The map's hook: called once per positions frame (it batches per animation frame). */
export function setPositionsListener(listener: () => void): void {
  onPositions = listener;
}

export function applyMessage(message: FeedMessage): void {
  applyColdAlertMessage(message);
  switch (message.type) {
    case "hello":
      void fullSync();
      return;
    case "positions": {
      liveProbe()?.positions(message.ts, message.fixes.length);
      let unknown = false;
      for (const fix of message.fixes) {
        liveFixes.set(fix.rider_id, fix);
        if (!riders.value.has(fix.rider_id)) unknown = true;
      }
      if (unknown) refreshRidersSoon();
      onPositions();
      if (listsTimer === undefined) {
        listsTimer = window.setTimeout(() => {
          listsTimer = undefined;
          fixesVersion.value += 1;
        }, 1000);
      }
      return;
    }
    case "order.status_changed": {
      const order = orders.value.get(message.orderId);
      if (order) {
        const next = new Map(orders.value);
        next.set(order.id, { ...order, status: message.toStatus as Order["status"] });
        orders.value = next;
      }
      break;
    }
    case "plan.updated":
      refreshPlanSoon();
      break;
    case "eta.updated": {
      const next = new Map(etas.value);
      for (const eta of message.etas) next.set(eta.stop_id, eta.eta_at);
      etas.value = next;
      return;
    }
    case "alert":
      if (message.kind === "rider.changed") refreshRidersSoon();
      if (message.kind === "rider.changed" || message.kind.startsWith("excursion.")) void refreshBoxes();
      break;
    default:
      break;
  }
  const line = describe(message);
  if (line) {
    pushEvent(line);
    if (message.type === "alert" && message.kind === "rider.stop_released") {
      releasedStops.value = [line, ...releasedStops.value].slice(0, 50);
    }
  }
  const touched = touchedOrders(message);
  if (touched.length) refreshOrdersSoon(touched);
}

let socket: LiveSocket | null = null;

export function startLive(): LiveSocket {
  socket = openDispatchFeed({
    onMessage: applyMessage,
    onState(state, attempt) {
      batch(() => {
        connection.value = state;
        reconnectAttempt.value = attempt;
      });
    },
    onForbidden(error) {
      problem.value = error;
    },
  });
  return socket;
}

export function liveSocket(): LiveSocket | null {
  return socket;
}

// The rider app's state and what moves it: the route (REST at every
// (re)connect, then `route.updated` frames), the rider's own record, the
// confirmation queue, the live socket and the phone's position.
import { setBusinessTimeZone } from "../domain/format";
import { computed, signal } from "@preact/signals";
import { ApiError, api } from "../api/client";
import type { UiConfigRead } from "../api/types";
import { BusinessClock } from "../domain/clock";
import type { components } from "../api/openapi";
import { LiveSocket, type SocketState } from "../live/socket";
import { ROUTE_KEY } from "./device";
import {
  actionPath,
  dismiss,
  flush,
  loadQueue,
  newAction,
  newKey,
  pendingStops,
  saveQueue,
  type ActionKind,
  type QueuedAction,
  type SendResult,
} from "./queue";
import { deviceToken, riderApi } from "./session";
import { withEtas } from "./stops";

export type RiderRoute = components["schemas"]["RiderRouteRead"];
export type RiderStop = components["schemas"]["RiderStopRead"];
export type RiderMe = components["schemas"]["RiderRead"];

export interface Fix {
  lat: number;
  lon: number;
  accuracy: number;
  at: number;
}

export type LocationState = { state: "waiting" } | { state: "on"; fix: Fix } | { state: "off"; reason: string };

const kept = readKeptRoute();
export const route = signal<RiderRoute | null>(kept?.route ?? null);
/** When the route shown was read (ms), kept across an offline restart. */
export const routeReadAt = signal<number | null>(kept?.at ?? null);
export const me = signal<RiderMe | null>(null);
export const queue = signal<QueuedAction[]>(loadQueue(localStorage));
export const socketState = signal<SocketState>("connecting");
export const online = signal<boolean>(navigator.onLine);
export const location = signal<LocationState>({ state: "waiting" });
/** The last error of a command the rider gave (title shown in a banner). */
export const commandError = signal<ApiError | null>(null);
export const flushing = signal(false);
/** The server's business time (the demo runs warped): shifts are set in it. */
export const clock = signal(new BusinessClock(null));

export const lockedStops = computed(() => pendingStops(queue.value));

function readKeptRoute(): { at: number; route: RiderRoute } | null {
  try {
    const raw = localStorage.getItem(ROUTE_KEY);
    const value = raw ? (JSON.parse(raw) as { at?: unknown; route?: RiderRoute }) : null;
    if (!value || typeof value.at !== "number" || !Array.isArray(value.route?.stops)) return null;
    return { at: value.at, route: value.route };
  } catch {
    return null;
  }
}

function setRoute(value: RiderRoute): void {
  const at = Date.now();
  route.value = value;
  routeReadAt.value = at;
  localStorage.setItem(ROUTE_KEY, JSON.stringify({ at, route: value }));
}

/** Re-read the route and the rider's record (every (re)connect, every answer). */
export async function reload(): Promise<void> {
  try {
    const [fresh, mine] = await Promise.all([
      riderApi<RiderRoute>("/riders/me/route"),
      riderApi<RiderMe>("/riders/me"),
    ]);
    setRoute(fresh);
    me.value = mine;
  } catch (error) {
    if (error instanceof ApiError && error.status !== 0 && error.status !== 401) commandError.value = error;
  }
}

// ---- the confirmation queue -------------------------------------------------

function setQueue(items: QueuedAction[]): void {
  queue.value = items;
  saveQueue(localStorage, items);
}

async function send(action: QueuedAction): Promise<SendResult> {
  try {
    await riderApi(actionPath(action), { body: action.body, headers: { "Idempotency-Key": action.key } });
    return { ok: true };
  } catch (error) {
    if (error instanceof ApiError) {
      return { ok: false, status: error.status, title: error.title, detail: error.detail, code: error.code };
    }
    return { ok: false, status: 0, title: "No network", detail: String(error), code: "network_error" };
  }
}

/** Send what waits, once at a time; re-read the route when something landed. */
export async function flushQueue(): Promise<void> {
  if (flushing.value || deviceToken.value === null || !online.value) return;
  if (!queue.value.some((item) => item.state === "waiting")) return;
  flushing.value = true;
  try {
    const outcome = await flush(queue.value, send, setQueue);
    if (outcome.sent.length > 0 || outcome.items.some((i) => i.state === "refused")) await reload();
  } finally {
    flushing.value = false;
  }
}

/** Queue a confirmation (its key fixed now) and try to send it at once. */
export function confirm(kind: ActionKind, stop: RiderStop, label: string, body: Record<string, unknown>): void {
  const action = newAction({ kind, orderId: stop.order_id, stopId: stop.stop_id, label, body }, newKey());
  setQueue([...queue.value, action]);
  void flushQueue();
}

export function dismissQueued(key: string): void {
  setQueue(dismiss(queue.value, key));
}

// ---- commands that are not queued ------------------------------------------

async function command(path: string, body: unknown): Promise<void> {
  commandError.value = null;
  try {
    await riderApi(path, { body });
    await reload();
  } catch (error) {
    if (error instanceof ApiError && error.status !== 401) commandError.value = error;
  }
}

export function startShift(hours: number): Promise<void> {
  const endsAt = new Date(clock.value.now() + hours * 3_600_000).toISOString();
  const here = location.value.state === "on" ? location.value.fix : null;
  return command("/riders/me/shift/start", {
    ends_at: endsAt,
    ...(here ? { position: { lat: here.lat, lon: here.lon } } : {}),
  });
}

export const endShift = (): Promise<void> => command("/riders/me/shift/end", {});
export const setStatus = (status: "available" | "on_break" | "offline"): Promise<void> =>
  command("/riders/me/status", { status });

// ---- live socket and position ---------------------------------------------

let socket: LiveSocket | null = null;
let watchId: number | null = null;
let lastSentAt = 0;
let lastPostedAt = 0;
const SEND_EVERY_MS = 3_000;
const POST_EVERY_MS = 15_000;
const POLL_EVERY_MS = 10_000;
let pollTimer: number | undefined;

function socketUrl(): string {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${window.location.host}/ws/rider?access_token=${encodeURIComponent(deviceToken.value ?? "")}`;
}

function isRouteFrame(data: Record<string, unknown>): boolean {
  return typeof data.rider_id === "string" && Array.isArray(data.stops);
}

let trailing: number | undefined;

/** Send a fix now, or at the end of the throttle window (the latest one wins). */
function sendFix(fix: Fix): void {
  const now = Date.now();
  // no `at`: the server stamps the fix in its business time
  const data = { lat: fix.lat, lon: fix.lon, accuracy_m: fix.accuracy };
  window.clearTimeout(trailing);
  if (socket && socketState.value === "live") {
    const wait = lastSentAt + SEND_EVERY_MS - now;
    if (wait > 0) {
      trailing = window.setTimeout(() => sendFix(fix), wait);
      return;
    }
    if (socket.send(JSON.stringify({ type: "position", data }))) {
      lastSentAt = now;
      return;
    }
  }
  // the REST fallback while the socket is down (and the network is not)
  if (!online.value || now - lastPostedAt < POST_EVERY_MS) return;
  lastPostedAt = now;
  riderApi("/riders/me/position", { body: data }).catch(() => undefined);
}

function watchLocation(): void {
  if (!("geolocation" in navigator)) {
    location.value = { state: "off", reason: "This browser cannot share its location." };
    return;
  }
  const onFix = (position: GeolocationPosition) => {
    const fix: Fix = {
      lat: position.coords.latitude,
      lon: position.coords.longitude,
      accuracy: position.coords.accuracy,
      at: position.timestamp || Date.now(),
    };
    location.value = { state: "on", fix };
    sendFix(fix);
  };
  const onError = (error: GeolocationPositionError) => {
      const reason =
        error.code === error.PERMISSION_DENIED
          ? "Location permission is denied: allow it in the browser's site settings."
          : error.code === error.POSITION_UNAVAILABLE
            ? "The phone has no position fix."
            : "The position fix timed out.";
    if (error.code !== error.TIMEOUT || location.value.state !== "on") location.value = { state: "off", reason };
  };
  const options: PositionOptions = { enableHighAccuracy: true, maximumAge: 10_000, timeout: 60_000 };
  watchId = navigator.geolocation.watchPosition(onFix, onError, options);
  // a fresh fix now and then even when the phone stands still (the watch
  // reports only moves): dispatch sees the rider is still there
  pollTimer = window.setInterval(
    () => navigator.geolocation.getCurrentPosition(onFix, onError, { ...options, maximumAge: 5_000 }),
    POLL_EVERY_MS,
  );
}

let retryTimer: number | undefined;

/** Start the live parts once signed in; returns the stopper. */
export function startLive(): () => void {
  socket = new LiveSocket(socketUrl, {
    onMessage(message) {
      if (message.type === "hello") {
        void reload();
        void flushQueue();
        const here = location.value;
        if (here.state === "on") {
          lastSentAt = 0;
          sendFix(here.fix);
        }
      } else if (message.type === "event" && message.name === "route.updated" && isRouteFrame(message.data)) {
        setRoute(message.data as unknown as RiderRoute);
      } else if (message.type === "eta.updated" && route.value) {
        setRoute({ ...route.value, stops: withEtas(route.value.stops, message.etas) });
      }
    },
    onState(state) {
      socketState.value = state;
    },
    onRejected() {
      // the server refused the token: the route read gets the 401 and its reason
      void riderApi("/riders/me").catch(() => undefined);
    },
  });
  // the socket opens once the token has proved good (a refused one goes to sign-in)
  let stopped = false;
  let opened = false;
  const open = () => {
    if (stopped || opened || deviceToken.value === null || !online.value) return;
    opened = true;
    socket?.start();
  };
  socketState.value = "connecting";
  void reload().then(open);
  api<UiConfigRead>("/ui/config", { auth: false })
    .then((cfg) => {
      clock.value = new BusinessClock(cfg.clock);
      setBusinessTimeZone(cfg.clock.time_zone); // times read as the dispatcher's do
    })
    .catch(() => undefined);
  watchLocation();
  // no reconnect attempts while the phone says it is offline; back online,
  // the socket reconnects (its hello re-reads the route) and the queue is sent
  const goOnline = () => {
    online.value = true;
    open();
    void flushQueue();
  };
  const goOffline = () => {
    online.value = false;
    opened = false;
    socket?.stop();
  };
  window.addEventListener("online", goOnline);
  window.addEventListener("offline", goOffline);
  retryTimer = window.setInterval(() => void flushQueue(), 10_000);
  void flushQueue();
  return () => {
    stopped = true;
    socket?.stop();
    socket = null;
    if (watchId !== null) navigator.geolocation.clearWatch(watchId);
    watchId = null;
    window.clearInterval(pollTimer);
    window.clearTimeout(trailing);
    window.clearInterval(retryTimer);
    window.removeEventListener("online", goOnline);
    window.removeEventListener("offline", goOffline);
  };
}

/** The live socket ("Retry now", and the browser tests' hook). */
export function liveSocket(): LiveSocket | null {
  return socket;
}

declare global {
  interface Window {
    rxdRider?: { reconnectNow(): void };
  }
}
window.rxdRider = { reconnectNow: () => socket?.reconnectNow() };

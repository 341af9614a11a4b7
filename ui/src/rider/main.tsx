// The rider app (phone first): sign in with the device token, shift and
// status, the route as a list or a map, confirmations through a visible queue
// that survives going offline, and the phone's position on the live socket.
import "../styles/base.css";
import "../styles/rider.css";
import { useSignal } from "@preact/signals";
import { render } from "preact";
import { lazy, Suspense } from "preact/compat";
import { useEffect } from "preact/hooks";
import { formatAge, formatClock } from "../domain/format";
import { applyTheme, theme } from "../shared/theme";
import {
  clock,
  commandError,
  dismissQueued,
  endShift,
  flushQueue,
  flushing,
  liveSocket,
  location,
  online,
  queue,
  route,
  routeReadAt,
  me,
  setStatus,
  socketState,
  startLive,
  startShift,
} from "./app";
import { hashWithoutToken, looksLikeToken, tokenFromHash } from "./device";
import { deviceToken, signIn, signInReason, signOut } from "./session";
import { StopCard } from "./StopCard";

applyTheme(theme.value);

const RiderMap = lazy(() => import("./RiderMap").then((m) => ({ default: m.RiderMap })));

// a printed demo link: #device-token=<token>, kept then removed from the address bar
const linked = tokenFromHash(window.location.hash);
if (linked) {
  signIn(linked);
  history.replaceState(null, "", window.location.pathname + window.location.search + hashWithoutToken(window.location.hash));
}

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/ui/rider/sw.js", { scope: "/ui/rider/" }).catch(() => undefined);
}

function SignIn() {
  const token = useSignal("");
  const error = useSignal<string | null>(null);
  function submit(event: Event) {
    event.preventDefault();
    const value = token.value.trim();
    if (!looksLikeToken(value)) {
      error.value = "That is not a device token: copy it exactly as dispatch gave it.";
      return;
    }
    signIn(value);
  }
  return (
    <main class="rider-signin">
      <form class="signin-card" onSubmit={submit} aria-labelledby="signin-title" data-testid="rider-signin">
        <div class="brand" aria-hidden="true">
          <span class="brand-mark">Rx</span>
          <span>rxdispatch rider</span>
        </div>
        <h1 id="signin-title">Sign in on this phone</h1>
        {signInReason.value && (
          <div class="problem" role="alert">
            <strong>You were signed out</strong>
            <span data-testid="signin-reason">{signInReason.value}</span>
          </div>
        )}
        <label for="device-token">Device token</label>
        <input
          id="device-token"
          name="device-token"
          autocomplete="off"
          autocapitalize="off"
          spellcheck={false}
          value={token.value}
          aria-describedby="token-hint"
          onInput={(e) => (token.value = (e.target as HTMLInputElement).value)}
        />
        <p class="hint" id="token-hint">
          Dispatch issues one per phone. Or open the link they sent you.
        </p>
        {error.value && (
          <p class="field-error" role="alert">
            {error.value}
          </p>
        )}
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}

function Banners() {
  const here = location.value;
  const state = socketState.value;
  return (
    <div class="banners">
      {here.state === "off" && (
        <div class="banner loud" role="alert" data-testid="location-off">
          <strong>Location off</strong>
          <span>{here.reason} Dispatch cannot see you and deliveries cannot be confirmed.</span>
        </div>
      )}
      {!online.value && (
        <div class="banner warn" role="status" data-testid="offline">
          <strong>Offline</strong>
          <span>
            Confirmations wait on this phone and are sent when the network is back.
            {routeReadAt.value ? ` The route is from ${formatAge(Date.now() - routeReadAt.value)}.` : ""}
          </span>
        </div>
      )}
      {online.value && state === "reconnecting" && (
        <div class="banner warn" role="status" data-testid="reconnecting">
          <strong>Reconnecting…</strong>
          <span>The route may be out of date until the connection is back.</span>
          <button type="button" class="secondary" onClick={() => liveSocket()?.reconnectNow()}>
            Retry now
          </button>
        </div>
      )}
      {commandError.value && (
        <div class="banner problem" role="alert" data-testid="command-error">
          <strong>{commandError.value.title}</strong>
          {commandError.value.detail && <span>{commandError.value.detail}</span>}
          <button type="button" class="secondary" onClick={() => (commandError.value = null)}>
            Dismiss
          </button>
        </div>
      )}
    </div>
  );
}

function Queue() {
  const items = queue.value;
  if (items.length === 0) return null;
  return (
    <section class="queue" aria-labelledby="queue-title" data-testid="queue">
      <h2 id="queue-title">Waiting to send ({items.length})</h2>
      <ul>
        {items.map((item) => (
          <li key={item.key} class={`queued ${item.state}`} data-testid="queued" data-state={item.state} data-kind={item.kind}>
            <div>
              <strong>{item.label}</strong>
              <span class="muted">
                {item.state === "refused"
                  ? "Refused"
                  : item.problem
                    ? `Will retry (${item.problem.title})`
                    : flushing.value
                      ? "Sending…"
                      : "Waiting for the network"}
                {" · "}
                queued {formatClock(item.queuedAt)}
              </span>
              {item.state === "refused" && item.problem && (
                <span class="problem-text" data-testid="queued-problem">
                  {item.problem.title}
                  {item.problem.detail ? `: ${item.problem.detail}` : ""}
                </span>
              )}
            </div>
            {item.state === "refused" ? (
              <button type="button" class="secondary" onClick={() => dismissQueued(item.key)}>
                Dismiss
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      {online.value && items.some((i) => i.state === "waiting") && (
        <button type="button" class="secondary" onClick={() => void flushQueue()}>
          Send now
        </button>
      )}
    </section>
  );
}

function Shift() {
  const hours = useSignal(8);
  const rider = me.value;
  const now = clock.value.now();
  const onShift = !!rider?.shift_start_at && (!rider.shift_end_at || Date.parse(rider.shift_end_at) > now);
  return (
    <section class="shift" aria-label="Shift and status" data-testid="shift" data-on-shift={onShift ? "true" : "false"}>
      {onShift ? (
        <>
          <p>
            On shift until <strong>{formatClock(rider?.shift_end_at ?? null)}</strong>
          </p>
          <div class="row">
            <label for="status">Status</label>
            <select
              id="status"
              value={rider?.status ?? "available"}
              onChange={(e) => void setStatus((e.target as HTMLSelectElement).value as "available" | "on_break" | "offline")}
            >
              <option value="available">Available</option>
              <option value="on_break">On break</option>
              <option value="offline">Offline</option>
              {rider && !["available", "on_break", "offline"].includes(rider.status) && (
                <option value={rider.status} disabled>
                  {rider.status.replace("_", " ")}
                </option>
              )}
            </select>
            <button type="button" class="secondary" onClick={() => void endShift()}>
              End shift
            </button>
          </div>
        </>
      ) : (
        <div class="row">
          <label for="shift-hours">Shift length</label>
          <select id="shift-hours" value={hours.value} onChange={(e) => (hours.value = Number((e.target as HTMLSelectElement).value))}>
            {[4, 6, 8, 10].map((h) => (
              <option key={h} value={h}>
                {h} hours
              </option>
            ))}
          </select>
          <button type="button" onClick={() => void startShift(hours.value)} data-testid="start-shift">
            Start shift
          </button>
        </div>
      )}
    </section>
  );
}

function Stops() {
  const value = route.value;
  if (!value) return <p class="empty">Loading your route…</p>;
  if (value.stops.length === 0) return <p class="empty">No stops for now. New orders appear here.</p>;
  const pickups = new Set(value.stops.filter((s) => s.kind === "pickup").map((s) => s.order_id));
  const queuedPickups = new Set(queue.value.filter((q) => q.kind === "pickup").map((q) => q.orderId));
  return (
    <ol class="stops" data-testid="stops">
      {value.stops.map((stop, i) => (
        <StopCard
          key={stop.stop_id}
          stop={stop}
          index={i}
          next={i === 0}
          awaitingPickup={stop.kind === "delivery" && pickups.has(stop.order_id) && !queuedPickups.has(stop.order_id)}
        />
      ))}
    </ol>
  );
}

function Connection() {
  const state = socketState.value;
  const label = !online.value ? "Offline" : state === "live" ? "Live" : state === "connecting" ? "Connecting" : "Reconnecting";
  return (
    <span class={`conn ${state === "live" ? "live" : "down"}`} data-testid="connection" data-state={state}>
      {label}
    </span>
  );
}

function RiderApp() {
  const tab = useSignal<"list" | "map">("list");
  useEffect(() => startLive(), []);
  return (
    <div class="rider" data-location={location.value.state}>
      <header class="rider-bar">
        <span class="brand-mark" aria-hidden="true">
          Rx
        </span>
        <span class="who" data-testid="rider-name">
          {me.value?.name ?? "Rider"}
        </span>
        <Connection />
        <button type="button" class="icon" onClick={() => signOut(null)} aria-label="Sign out of this phone">
          Sign out
        </button>
      </header>
      <main>
        <h1 class="visually-hidden">Your route</h1>
        <Banners />
        <Shift />
        <Queue />
        <div class="tabs" role="group" aria-label="Route view">
          <button type="button" aria-pressed={tab.value === "list"} onClick={() => (tab.value = "list")}>
            Stops{route.value ? ` (${route.value.stops.length})` : ""}
          </button>
          <button type="button" aria-pressed={tab.value === "map"} onClick={() => (tab.value = "map")}>
            Map
          </button>
        </div>
        {tab.value === "list" ? (
          <Stops />
        ) : (
          <Suspense fallback={<p class="empty">Loading the map…</p>}>
            <RiderMap />
          </Suspense>
        )}
      </main>
    </div>
  );
}

function Root() {
  return deviceToken.value ? <RiderApp /> : <SignIn />;
}

const root = document.getElementById("app");
if (root) render(<Root />, root);

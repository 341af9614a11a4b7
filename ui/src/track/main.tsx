// The patient's tracking page, /ui/track/#<token>. The token lives in the
// fragment, so it is never sent with the page request nor logged with it.
// Text first: ETA, window, timeline and messages render from the first fetch;
// the map is imported afterwards, and only where WebGL works. The feed
// (/ws/track/{token}) pushes changes; on every (re)connect the server sends the
// whole view again and the page re-reads its messages, so a dropped connection
// shows "reconnecting" and never leaves the page silently stale.
import "../styles/base.css";
import "../styles/track.css";
import { batch, effect, signal } from "@preact/signals";
import { render } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { ApiError, api } from "../api/client";
import type { UiConfigRead } from "../api/types";
import { BusinessClock } from "../domain/clock";
import { LiveSocket, type SocketState } from "../live/socket";
import { applyTheme, theme } from "../shared/theme";
import type { TrackMap } from "./map";
import { lang, locale, setLang, t } from "./strings";
import {
  LATE_MESSAGE,
  applyUpdate,
  formatTime,
  formatWindow,
  headline,
  lateness,
  otpCode,
  riderToShow,
  timeline,
  tokenFromHash,
  type TrackingView,
} from "./view";

applyTheme(theme.value);
setLang(navigator.language || "en");

interface PatientMessage {
  kind: string;
  body: string;
  expires_at: string | null;
}

type Phase = "loading" | "ready" | "gone" | "error";
type MapState = "pending" | "loading" | "ready" | "unavailable" | "failed";

const token = tokenFromHash(window.location.hash);
const phase = signal<Phase>(token ? "loading" : "gone");
const problem = signal<ApiError | null>(null);
const view = signal<TrackingView | null>(null);
const messages = signal<PatientMessage[]>([]);
/** The link shows progress only: its messages (the delivery code) are not readable. */
const statusLinkOnly = signal(false);
const connection = signal<SocketState>("connecting");
const config = signal<UiConfigRead | null>(null);
const clock = signal(new BusinessClock(null));
const tick = signal(Date.now());
const mapState = signal<MapState>("pending");

declare global {
  interface Window {
    /** What the browser tests read of the page (no patient data in it). */
    rxdTrack?: { map: TrackMap | null; socket: LiveSocket | null };
  }
}
window.rxdTrack = { map: null, socket: null };

const zone = (): string => config.value?.clock.time_zone ?? "Europe/Malta";
const apiPath = (suffix = ""): string => `/track/${encodeURIComponent(token ?? "")}${suffix}`;

function fail(error: unknown): void {
  if (error instanceof ApiError && error.status === 404) {
    phase.value = "gone";
    window.rxdTrack?.socket?.stop();
    return;
  }
  problem.value =
    error instanceof ApiError ? error : new ApiError(0, t("error.title"), String(error), "client_error");
  if (view.value === null) phase.value = "error";
}

async function loadMessages(): Promise<void> {
  try {
    messages.value = await api<PatientMessage[]>(apiPath("/messages"), { auth: false });
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) {
      // a status link (the order creator's): the code goes to the patient's phone
      statusLinkOnly.value = true;
      return;
    }
    fail(error);
  }
}

async function loadConfig(): Promise<void> {
  try {
    const served = await api<UiConfigRead>("/ui/config", { auth: false });
    batch(() => {
      config.value = served;
      clock.value = new BusinessClock(served.clock);
    });
  } catch {
    // the page works without it: times then show in Europe/Malta, no map bounds
  }
}

/** First read: config and view together, then messages; then the feed. */
async function start(): Promise<void> {
  if (!token) return;
  phase.value = "loading";
  problem.value = null;
  try {
    const [first] = await Promise.all([api<TrackingView>(apiPath(), { auth: false }), loadConfig()]);
    batch(() => {
      view.value = applyUpdate(null, first);
      phase.value = "ready";
    });
  } catch (error) {
    fail(error);
    return;
  }
  void loadMessages();
  startFeed();
}

function startFeed(): void {
  if (window.rxdTrack?.socket) return;
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const socket = new LiveSocket(() => `${scheme}://${window.location.host}/ws${apiPath()}`, {
    onMessage(message) {
      if (message.type === "hello") {
        problem.value = null;
        void loadMessages();
        return;
      }
      if (message.type !== "event" || message.name !== "tracking.updated") return;
      const before = view.value?.status;
      view.value = applyUpdate(view.value, message.data);
      if (view.value && view.value.status !== before) void loadMessages();
    },
    onState(state) {
      connection.value = state;
    },
    onRejected() {
      // the link stopped working (e.g. expired after delivery): ask why
      api<TrackingView>(apiPath(), { auth: false })
        .then((again) => (view.value = applyUpdate(view.value, again)))
        .catch(fail);
    },
  });
  window.rxdTrack = { map: window.rxdTrack?.map ?? null, socket };
  socket.start();
}

function hasWebGL(): boolean {
  try {
    const canvas = document.createElement("canvas");
    return Boolean(canvas.getContext("webgl2") ?? canvas.getContext("webgl"));
  } catch {
    return false;
  }
}

function Header() {
  return (
    <header class="track-header">
      <div class="brand" aria-hidden="true">
        <span class="brand-mark">Rx</span>
        <span>{t("page.brand")}</span>
      </div>
      <Connection />
    </header>
  );
}

function Connection() {
  if (phase.value !== "ready") return null;
  const state = connection.value;
  const text =
    state === "live"
      ? t("live.live")
      : state === "reconnecting"
        ? t("live.reconnecting")
        : state === "closed"
          ? t("live.closed")
          : t("live.connecting");
  return (
    <p class="connection" data-testid="connection" data-state={state} role="status">
      <span class="dot" aria-hidden="true" />
      {text}
    </p>
  );
}

function Arrival({ current }: { current: TrackingView }) {
  const now = clock.value.now(tick.value);
  const tz = zone();
  const loc = locale();
  const window_ = formatWindow(current, tz, now, loc);
  const late = lateness(current, now);
  const line = headline(current, now);
  const eta = current.eta_at ? formatTime(current.eta_at, tz, now, loc) : "";
  return (
    <section class="arrival" aria-labelledby="arrival-title" data-testid="arrival">
      <h2 id="arrival-title" class="visually-hidden">
        {t("eta.heading")}
      </h2>
      <p class="eta" data-testid="eta">
        {t(line.key, { ...window_, time: eta })}
      </p>
      {line.showWindow ? (
        <p class="window" data-testid="window">
          <span class="label">{t("eta.windowLabel")}</span>{" "}
          <strong>{t("eta.windowRange", window_)}</strong>
        </p>
      ) : (
        <p class="muted">{t("eta.pendingHint")}</p>
      )}
      {late && (
        <p class="late" data-testid="late" data-late={late}>
          {t(LATE_MESSAGE[late])}
        </p>
      )}
    </section>
  );
}

function Timeline({ current }: { current: TrackingView }) {
  const steps = timeline(current.status);
  return (
    <section class="card" aria-labelledby="status-title">
      <h2 id="status-title">{t("status.heading")}</h2>
      <p class="status-now" role="status" aria-live="polite" data-testid="status" data-status={current.status}>
        {t("status.now", { status: t(`status.${current.status}`) })}
      </p>
      <ol class="timeline" data-testid="timeline">
        {steps.map((step) => (
          <li class={`step step-${step.state}`} data-state={step.state} aria-current={step.state === "current" ? "step" : undefined}>
            <span class="marker" aria-hidden="true" />
            <span class="step-text">{t(step.key)}</span>
            <span class="visually-hidden"> ({t(`step.${step.state}`)})</span>
          </li>
        ))}
      </ol>
    </section>
  );
}

function Messages() {
  const now = clock.value.now(tick.value);
  const list = messages.value;
  return (
    <section class="card" aria-labelledby="messages-title">
      <h2 id="messages-title">{t("messages.heading")}</h2>
      {statusLinkOnly.value ? (
        <p class="muted" data-testid="status-link-only">
          {t("messages.statusLinkOnly")}
        </p>
      ) : list.length === 0 ? (
        <p class="muted">{t("messages.none")}</p>
      ) : (
        <ul class="messages" data-testid="messages">
          {list.map((m) => {
            const code = m.kind === "otp" ? otpCode(m.body) : null;
            return (
              <li class="message" data-kind={m.kind}>
                {code ? (
                  <>
                    <p class="otp-label">{t("messages.otp")}</p>
                    <p class="otp" data-testid="otp">
                      {code}
                    </p>
                    <p class="muted">{t("messages.otpHint")}</p>
                  </>
                ) : (
                  <p>{m.body}</p>
                )}
                {m.expires_at && (
                  <p class="muted">{t("messages.expires", { time: formatTime(m.expires_at, zone(), now, locale()) })}</p>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

function MapSection({ current }: { current: TrackingView }) {
  const host = useRef<HTMLDivElement | null>(null);
  const rider = riderToShow(current);
  const state = mapState.value;

  useEffect(() => {
    if (mapState.value !== "pending" || !host.current) return;
    if (!hasWebGL()) {
      mapState.value = "unavailable";
      return;
    }
    mapState.value = "loading";
    const element = host.current;
    import("./map")
      .then(({ createTrackMap }) => {
        const served = config.value;
        const bbox = served?.city.bbox ?? null;
        const map = createTrackMap(element, {
          styleUrl: served?.map.style_url ?? null,
          bbox: bbox ? [bbox[0], bbox[1], bbox[2], bbox[3]] : null,
          theme: theme.value,
          riderLabel: t("map.label"),
          onReady: () => (mapState.value = "ready"),
        });
        window.rxdTrack = { map, socket: window.rxdTrack?.socket ?? null };
        effect(() => map.setRider(view.value ? riderToShow(view.value) : null));
        effect(() => map.setTheme(theme.value));
      })
      .catch(() => (mapState.value = "failed"));
  }, []);

  const unavailable = state === "unavailable" || state === "failed";
  return (
    <section class="card map-card" aria-labelledby="map-title">
      <h2 id="map-title">{t("map.heading")}</h2>
      {unavailable ? (
        <p class="notice" data-testid="map-unavailable">
          {t(state === "failed" ? "map.failed" : "map.unavailable")}
        </p>
      ) : (
        <p class="muted" data-testid="rider-note">
          {t(rider ? "map.riderShown" : current.status === "on_the_way" ? "map.riderNotNext" : "map.riderHidden")}
        </p>
      )}
      <div
        ref={host}
        class="track-map"
        hidden={unavailable}
        data-testid="track-map"
        data-state={state}
        data-rider={rider ? "shown" : "hidden"}
        role="region"
        aria-label={t("map.label")}
      >
        {state === "loading" && <p class="map-loading">{t("map.loading")}</p>}
      </div>
    </section>
  );
}

function Gone() {
  return (
    <main class="track gone" data-testid="gone">
      <Header />
      <section class="card">
        <h1>{t("gone.title")}</h1>
        <p>{token ? t("gone.body") : t("gone.noToken")}</p>
      </section>
    </main>
  );
}

function Page() {
  useEffect(() => {
    const timer = window.setInterval(() => (tick.value = Date.now()), 15_000);
    return () => window.clearInterval(timer);
  }, []);
  document.documentElement.lang = lang.value; // re-renders on a language change
  document.title = `${t("page.title")} · ${t("page.brand")}`;

  if (phase.value === "gone") return <Gone />;
  const current = view.value;
  return (
    <main class="track" data-testid="track" data-phase={phase.value}>
      <Header />
      <h1>{t("page.title")}</h1>
      {problem.value && (
        <div class="problem" role="alert" data-testid="problem">
          <strong>{problem.value.title}</strong>
          {problem.value.detail && <span>{problem.value.detail}</span>}
          {phase.value === "error" && (
            <button type="button" onClick={() => void start()}>
              {t("error.retry")}
            </button>
          )}
        </div>
      )}
      {phase.value === "loading" && <p role="status">{t("page.loading")}</p>}
      {current && (
        <>
          <Arrival current={current} />
          <Timeline current={current} />
          <Messages />
          <MapSection current={current} />
        </>
      )}
    </main>
  );
}

window.addEventListener("hashchange", () => window.location.reload());

const root = document.getElementById("app");
if (root) render(<Page />, root);
void start();

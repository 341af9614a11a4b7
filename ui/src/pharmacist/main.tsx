// The pharmacist console: the holds queue live, each hold's record, and the
// decision (release or reject) with a note and a confirmation.
import "../styles/base.css";
import "../styles/pharmacist.css";
import { render } from "preact";
import { useEffect } from "preact/hooks";
import { requireSession, signOut, watchExpiry, type Session } from "../auth/session";
import { formatClock } from "../domain/format";
import { applyTheme, theme, toggleTheme } from "../shared/theme";
import { HoldQueue } from "./HoldQueue";
import { HoldRecord } from "./HoldRecord";
import { clock, connection, lastSyncAt, problem, reconnectAttempt, tick } from "./store";
import { fullSync, liveSocket, startLive } from "./sync";

applyTheme(theme.value);

function ConnectionPill() {
  const state = connection.value;
  const label =
    state === "live"
      ? "Live"
      : state === "connecting"
        ? "Connecting…"
        : state === "reconnecting"
          ? `Reconnecting…${reconnectAttempt.value > 1 ? ` (try ${reconnectAttempt.value})` : ""}`
          : "Offline";
  return (
    <span class={`pill pill-${state}`} role="status" aria-live="polite" data-testid="connection" data-state={state}>
      <span class="pill-dot" aria-hidden="true" />
      {label}
    </span>
  );
}

function Banners() {
  const state = connection.value;
  const err = problem.value;
  return (
    <div class="banners">
      {(state === "reconnecting" || state === "connecting") && lastSyncAt.value !== null && (
        <div class="banner banner-warn" role="status" data-testid="reconnecting-banner">
          Connection lost — reconnecting. The queue shows holds as of {formatClock(clock.value.now(lastSyncAt.value))} and
          refreshes when the connection is back.
          <button type="button" onClick={() => liveSocket()?.reconnectNow()}>
            Retry now
          </button>
        </div>
      )}
      {err && (
        <div class="banner banner-error" role="alert" data-testid="problem">
          <strong>{err.title}</strong>
          {err.detail && <span> — {err.detail}</span>}
          <button type="button" onClick={() => void fullSync()}>
            Retry
          </button>
        </div>
      )}
    </div>
  );
}

function App({ session }: { session: Session }) {
  useEffect(() => {
    const timer = window.setInterval(() => (tick.value = Date.now()), 5000);
    return () => window.clearInterval(timer);
  }, []);
  return (
    <div class="console">
      <header class="topbar">
        <div class="brand">
          <span class="brand-mark" aria-hidden="true">
            Rx
          </span>
          <span>rxdispatch</span>
          <span class="brand-sub">Pharmacist</span>
        </div>
        <ConnectionPill />
        <span class="spacer" />
        <button type="button" class="plain" aria-pressed={theme.value === "dark"} onClick={toggleTheme}>
          {theme.value === "dark" ? "Light" : "Dark"}
        </button>
        <span class="user" title={`Signed in as ${session.username} (${session.role})`}>
          {session.username}
        </span>
        <button type="button" class="link" onClick={() => signOut("You signed out.")}>
          Sign out
        </button>
      </header>
      <Banners />
      <div class="console-body">
        <aside class="console-queue">
          <HoldQueue />
        </aside>
        <main class="console-record">
          <h1 class="visually-hidden">Pharmacist console</h1>
          <HoldRecord />
        </main>
      </div>
    </div>
  );
}

function boot(): void {
  const session = requireSession();
  const root = document.getElementById("app");
  if (!session || !root) return;
  if (session.role !== "pharmacist" && session.role !== "admin") {
    signOut("The pharmacist console is for pharmacists and administrators.");
    return;
  }
  watchExpiry(session, () => signOut("Your session has expired. Please sign in again."));
  render(<App session={session} />, root);
  // every (re)connect re-reads the queue; should the feed not come up at all,
  // still show the queue, marked not live
  startLive();
  window.setTimeout(() => {
    if (lastSyncAt.value === null) void fullSync();
  }, 5000);
}

boot();

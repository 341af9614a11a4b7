// The pharmacist console: the holds queue live, each hold's record, and the
// decision (release or reject) with a note and a confirmation.
import "../styles/base.css";
import "../styles/pharmacist.css";
import { render } from "preact";
import { useEffect } from "preact/hooks";
import { requireSession, signOut, watchExpiry, type Session } from "../auth/session";
import { formatClock } from "../domain/format";
import { applyTheme, theme, toggleTheme } from "../shared/theme";
import { ConnectionBanners, ConnectionPill as SharedPill } from "../shared/connection";
import { HoldQueue } from "./HoldQueue";
import { HoldRecord } from "./HoldRecord";
import { clock, connection, lastSyncAt, problem, reconnectAttempt, tick } from "./store";
import { fullSync, liveSocket, startLive } from "./sync";

applyTheme(theme.value);

function ConnectionPill() {
  return <SharedPill state={connection.value} attempt={reconnectAttempt.value} />;
}

function Banners() {
  const synced = lastSyncAt.value;
  return (
    <ConnectionBanners
      state={connection.value}
      stale={
        synced === null
          ? null
          : `The queue shows holds as of ${formatClock(clock.value.now(synced))} and refreshes when the connection is back.`
      }
      problem={problem.value}
      onReconnect={() => liveSocket()?.reconnectNow()}
      onRetry={() => void fullSync()}
    />
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

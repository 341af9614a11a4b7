// The dispatcher's live map page.
import "../styles/base.css";
import "../styles/dispatcher.css";
import { render } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { ApiError } from "../api/client";
import { requireSession, signOut, watchExpiry, type Session } from "../auth/session";
import { may } from "../domain/permissions";
import { applyTheme, theme, toggleTheme } from "../shared/theme";
import { ColdAlertBanners } from "./ColdAlertBanners";
import { MapView, mapController } from "./MapView";
import { Banners, EventsDrawer, HelpDialog, OrdersPanel, PlanPanel, RidersPanel, TopBar, selectOrder, selectRider } from "./panels";
import { ConfirmDialog, pendingAction, staffRole } from "./actions";
import { actionFor, isTyping } from "./shortcuts";
import {
  config,
  drawerOpen,
  followRider,
  helpOpen,
  lastSyncAt,
  orders,
  problem,
  riderViews,
  riders,
  selectedOrder,
  selectedRider,
  tab,
  tick,
  visibleOrders,
} from "./store";
import { fullSync, loadConfig, refreshBoxes, startLive } from "./sync";

applyTheme(theme.value);

function step(direction: 1 | -1): void {
  if (tab.value === "riders") {
    const ids = riderViews().map((v) => v.rider.id);
    const at = selectedRider.value ? ids.indexOf(selectedRider.value) : -1;
    const next = ids[Math.min(ids.length - 1, Math.max(0, at + direction))];
    if (next) selectRider(next);
    return;
  }
  const ids = visibleOrders.value.map((v) => v.order.id);
  const at = selectedOrder.value ? ids.indexOf(selectedOrder.value) : -1;
  const next = ids[Math.min(ids.length - 1, Math.max(0, at + direction))];
  if (next) selectOrder(next);
}

function App({ session }: { session: Session }) {
  const searchRef = useRef<HTMLInputElement | null>(null);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (pendingAction.value) return; // the confirmation dialog has the keyboard
      const action = actionFor({
        key: event.key,
        ctrlKey: event.ctrlKey,
        metaKey: event.metaKey,
        altKey: event.altKey,
        typing: isTyping(event.target),
      });
      if (!action) return;
      if (helpOpen.value && action !== "escape" && action !== "help") return;
      event.preventDefault();
      switch (action) {
        case "search":
          tab.value = "orders";
          requestAnimationFrame(() => searchRef.current?.focus());
          break;
        case "tab-orders":
          tab.value = "orders";
          break;
        case "tab-riders":
          tab.value = "riders";
          break;
        case "tab-plan":
          tab.value = "plan";
          break;
        case "events":
          drawerOpen.value = !drawerOpen.value;
          break;
        case "fit":
          followRider.value = null;
          mapController?.fitAll();
          break;
        case "dark":
          toggleTheme();
          break;
        case "next":
          step(1);
          break;
        case "previous":
          step(-1);
          break;
        case "follow":
          if (selectedRider.value) followRider.value = followRider.value === selectedRider.value ? null : selectedRider.value;
          break;
        case "help":
          helpOpen.value = !helpOpen.value;
          break;
        case "escape":
          if (isTyping(event.target)) (event.target as HTMLElement).blur();
          else if (helpOpen.value) helpOpen.value = false;
          else if (followRider.value) followRider.value = null;
          else if (selectedOrder.value || selectedRider.value) {
            selectedOrder.value = null;
            selectedRider.value = null;
          } else drawerOpen.value = false;
          break;
      }
    };
    window.addEventListener("keydown", onKey);
    const timer = window.setInterval(() => (tick.value = Date.now()), 5000);
    const boxesTimer = window.setInterval(() => void refreshBoxes(), 30_000);
    return () => {
      window.removeEventListener("keydown", onKey);
      window.clearInterval(timer);
      window.clearInterval(boxesTimer);
    };
  }, []);

  const tabs: ["orders" | "riders" | "plan", string][] = [
    ["orders", `Orders (${orders.value.size})`],
    ["riders", `Riders (${riders.value.size})`],
    ["plan", "Plan"],
  ];
  return (
    <div class="app">
      <TopBar session={session} />
      <div class="body">
        <aside class="sidebar" aria-label="Dispatch panels">
          <div class="tabs" role="tablist" aria-label="Panels">
            {tabs.map(([id, label], i) => (
              <button
                type="button"
                role="tab"
                id={`tab-${id}`}
                aria-selected={tab.value === id}
                aria-controls="panel"
                title={`${label} (${i + 1})`}
                onClick={() => (tab.value = id)}
              >
                {label}
              </button>
            ))}
          </div>
          <div id="panel" role="tabpanel" aria-labelledby={`tab-${tab.value}`} class="panel-wrap">
            {tab.value === "orders" && <OrdersPanel searchRef={searchRef} />}
            {tab.value === "riders" && <RidersPanel />}
            {tab.value === "plan" && <PlanPanel />}
          </div>
        </aside>
        <main class="map-wrap">
          <h1 class="visually-hidden">Dispatch live map</h1>
          {config.value ? <MapView /> : <div class="map map-loading">Loading map…</div>}
          <div class="map-banners">
            <Banners />
            <ColdAlertBanners />
          </div>
          <Legend />
        </main>
        {drawerOpen.value && <EventsDrawer />}
      </div>
      {helpOpen.value && <HelpDialog />}
      {pendingAction.value && <ConfirmDialog key={pendingAction.value.title} action={pendingAction.value} />}
    </div>
  );
}

function Legend() {
  return (
    <div class="legend" aria-hidden="true">
      <span>
        <i class="legend-rider" /> rider
      </span>
      <span>
        <i class="legend-stale" /> stale fix
      </span>
      <span>
        <i class="legend-pharmacy" /> pharmacy
      </span>
      <span>
        <i class="legend-late" /> late
      </span>
      <span>
        <i class="legend-route" /> planned leg
      </span>
    </div>
  );
}

async function boot(): Promise<void> {
  const session = requireSession();
  const root = document.getElementById("app");
  if (!session || !root) return;
  staffRole.value = session.role;
  if (!may(session.role, "watch_live_map")) {
    signOut("The live map is for dispatchers and administrators.");
    return;
  }
  watchExpiry(session, () => signOut("Your session has expired. Please sign in again."));
  render(<App session={session} />, root);
  try {
    await loadConfig();
  } catch (error) {
    // the banner offers "Retry" (a full re-read, config included)
    problem.value = error instanceof ApiError ? error : new ApiError(0, "Unexpected error", String(error), "client_error");
  }
  // every (re)connect re-reads after subscribing; should the feed not come up
  // at all (a proxy without websockets), still show a snapshot, marked not live
  startLive();
  window.setTimeout(() => {
    if (lastSyncAt.value === null) void fullSync();
  }, 5000);
}

void boot();

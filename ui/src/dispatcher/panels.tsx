// The side panels (orders, riders, plan), the events drawer, the top bar.
import { ConnectionBanners, ConnectionPill as SharedPill } from "../shared/connection";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api } from "../api/client";
import type { ColdBox } from "../api/types";
import { signOut, type Session } from "../auth/session";
import { formatAge, formatClock, formatDistance, formatDuration, formatInteger, shortId } from "../domain/format";
import { reasonText } from "../domain/reasons";
import { isStale } from "../domain/riders";
import { LATE_COLOUR, STATUS_KEYS, STATUS_STYLES } from "../domain/status";
import { theme, toggleTheme } from "../shared/theme";
import { mapController } from "./MapView";
import { SHORTCUTS } from "./shortcuts";
import {
  clock,
  connection,
  drawerOpen,
  events,
  fixesVersion,
  followRider,
  helpOpen,
  lastSyncAt,
  orders,
  plan,
  problem,
  reconnectAttempt,
  releasedStops,
  riderBoxes,
  riderColour,
  riders,
  riderViews,
  search,
  selectedOrder,
  selectedRider,
  statusCounts,
  statusFilter,
  syncing,
  tab,
  tick,
  toggleStatus,
  visibleOrders,
  type OrderView,
} from "./store";
import { fullSync, liveSocket } from "./sync";
import { allowed, ask, cancelOrder, clearBox, placeHold, quarantineBox } from "./actions";

const MAX_ROWS = 300;

function riderName(id: string | null): string {
  if (!id) return "";
  return riders.value.get(id)?.name ?? id;
}

export function selectOrder(id: string): void {
  selectedOrder.value = id;
  const order = orders.value.get(id);
  if (order) mapController?.flyTo(order.delivery_location.lon, order.delivery_location.lat, 15);
}

export function selectRider(id: string): void {
  selectedRider.value = id;
  const view = riderViews().find((v) => v.rider.id === id);
  if (view?.lon != null && view.lat != null) mapController?.flyTo(view.lon, view.lat, 14);
}

// ---- top bar -------------------------------------------------------------------

export function ConnectionPill() {
  return <SharedPill state={connection.value} attempt={reconnectAttempt.value} syncing={syncing.value} />;
}

export function TopBar({ session }: { session: Session }) {
  const current = plan.value;
  return (
    <header class="topbar">
      <div class="brand">
        <span class="brand-mark" aria-hidden="true">
          Rx
        </span>
        <span>rxdispatch</span>
        <span class="brand-sub">Dispatch</span>
      </div>
      <ConnectionPill />
      <span class="topbar-plan" data-testid="plan-summary">
        {current ? (
          <>
            Plan v{current.version} · cost {formatInteger(current.cost)} · {current.unassigned.length} unassigned
          </>
        ) : (
          "No plan yet"
        )}
      </span>
      <span class="spacer" />
      <nav class="toolbar" aria-label="Map tools">
        <button type="button" onClick={() => mapController?.fitAll()} title="Fit everything (f)">
          Fit all
        </button>
        <button
          type="button"
          aria-pressed={drawerOpen.value}
          onClick={() => (drawerOpen.value = !drawerOpen.value)}
          title="Events drawer (e)"
        >
          Events{events.value.length ? ` (${events.value.length})` : ""}
        </button>
        <button type="button" aria-pressed={theme.value === "dark"} onClick={toggleTheme} title="Dark mode (d)">
          {theme.value === "dark" ? "Light" : "Dark"}
        </button>
        <button type="button" onClick={() => (helpOpen.value = true)} title="Keyboard shortcuts (?)">
          <span aria-hidden="true">?</span>
          <span class="visually-hidden">Keyboard shortcuts</span>
        </button>
      </nav>
      <span class="user" title={`Signed in as ${session.username} (${session.role})`}>
        {session.username}
      </span>
      <button type="button" class="link" onClick={() => signOut("You signed out.")}>
        Sign out
      </button>
    </header>
  );
}

export function Banners() {
  const synced = lastSyncAt.value;
  return (
    <ConnectionBanners
      state={connection.value}
      stale={
        synced === null
          ? null
          : `The map shows data as of ${formatClock(clock.value.now(synced))} and will refresh when the connection is back.`
      }
      problem={problem.value}
      onReconnect={() => liveSocket()?.reconnectNow()}
      onRetry={() => void fullSync()}
    />
  );
}

// ---- orders ------------------------------------------------------------------------

function StatusChips() {
  const counts = statusCounts.value;
  const allowed = statusFilter.value;
  return (
    <div class="chips" role="group" aria-label="Filter orders by status">
      {STATUS_KEYS.map((key) => (
        <button
          type="button"
          key={key}
          class="chip"
          aria-pressed={allowed.has(key)}
          data-status={key}
          data-count={counts[key]}
          title="Click: show/hide · Shift+click: only this status"
          onClick={(e) => toggleStatus(key, (e as MouseEvent).shiftKey)}
        >
          <span class="dot" style={{ background: STATUS_STYLES[key].colour }} aria-hidden="true" />
          {STATUS_STYLES[key].label}
          <span class="count">{counts[key]}</span>
        </button>
      ))}
    </div>
  );
}

function LateBadge({ view }: { view: OrderView }) {
  if (view.late.state === "on_time") return null;
  const text =
    view.late.state === "late"
      ? `late ${formatDuration(view.late.byMs / 1000)}`
      : `at risk${view.late.byMs ? ` +${formatDuration(view.late.byMs / 1000)}` : ""}`;
  return (
    <span class={`late late-${view.late.state}`} data-testid="late">
      <span class="dot" style={{ background: LATE_COLOUR }} aria-hidden="true" />
      {text}
    </span>
  );
}

function OrderRow({ view, selected }: { view: OrderView; selected: boolean }) {
  const ref = useRef<HTMLLIElement>(null);
  useEffect(() => {
    if (selected) ref.current?.scrollIntoView({ block: "nearest" });
  }, [selected]);
  const o = view.order;
  return (
    <li
      ref={ref}
      class={`row${selected ? " selected" : ""}`}
      data-testid="order-row"
      data-order-id={o.id}
      data-status={view.status}
    >
      <button type="button" class="row-main" aria-expanded={selected} onClick={() => selectOrder(o.id)}>
        <span class="dot" style={{ background: STATUS_STYLES[view.status].colour }} aria-hidden="true" />
        <span class="row-title">
          <span class="mono" title={o.id}>
            {shortId(o.id)}
          </span>
          <span class="status-label">{STATUS_STYLES[view.status].label}</span>
          {o.priority === "urgent" && <span class="tag tag-urgent">urgent</span>}
          <LateBadge view={view} />
        </span>
        <span class="row-sub">
          until {formatClock(o.window_end_at)}
          {view.etaAt && <> · ETA {formatClock(view.etaAt)}</>}
          {view.riderId && <> · {riderName(view.riderId)}</>}
        </span>
        {view.reason && (
          <span class="row-reason" data-testid="unassigned-reason">
            {view.reason}
          </span>
        )}
      </button>
      {selected && (
        <dl class="details">
          <dt>Order</dt>
          <dd class="mono">{o.id}</dd>
          <dt>Patient ref</dt>
          <dd>{o.patient_ref}</dd>
          <dt>Window</dt>
          <dd>
            {formatClock(o.window_start_at)}–{formatClock(o.window_end_at)}
          </dd>
          <dt>Pharmacy</dt>
          <dd>{o.pharmacy_id ?? "–"}</dd>
          <dt>Rider</dt>
          <dd>{riderName(view.riderId) || "–"}</dd>
          <dt>Items</dt>
          <dd>{o.lines.reduce((n, l) => n + l.quantity, 0)}</dd>
          <dt>Proof</dt>
          <dd>{o.proof_level.replace(/_/g, " ")}</dd>
          {view.reason && (
            <>
              <dt>Why unassigned</dt>
              <dd data-testid="reason-detail">{view.reason}</dd>
            </>
          )}
        </dl>
      )}
      {selected && <OrderActions view={view} />}
    </li>
  );
}

const CANCELLABLE = new Set(["created", "sourced", "assigned"]);
const HOLDABLE = new Set(["created", "sourced", "assigned", "picked_up"]);

function OrderActions({ view }: { view: OrderView }) {
  const o = view.order;
  const canCancel = allowed("cancel_order") && CANCELLABLE.has(o.status);
  const canHold = allowed("place_hold") && HOLDABLE.has(o.status);
  if (!canCancel && !canHold) return null;
  return (
    <div class="actions" data-testid="order-actions">
      {canHold && (
        <button type="button" onClick={() => ask(placeHold(o))}>
          Place hold…
        </button>
      )}
      {canCancel && (
        <button type="button" class="danger" onClick={() => ask(cancelOrder(o))}>
          Cancel order…
        </button>
      )}
    </div>
  );
}

export function OrdersPanel({ searchRef }: { searchRef: { current: HTMLInputElement | null } }) {
  const views = visibleOrders.value;
  const shown = views.slice(0, MAX_ROWS);
  const selected = selectedOrder.value;
  return (
    <section class="panel" aria-labelledby="orders-heading">
      <h2 id="orders-heading" class="visually-hidden">
        Orders
      </h2>
      <label class="visually-hidden" for="order-search">
        Search orders
      </label>
      <input
        id="order-search"
        ref={searchRef}
        class="search"
        type="search"
        placeholder="Search id, patient ref, rider, pharmacy  ( / )"
        value={search.value}
        onInput={(e) => (search.value = (e.target as HTMLInputElement).value)}
      />
      <StatusChips />
      <p class="list-meta" aria-live="polite">
        {views.length} shown of {orders.value.size}
      </p>
      <ul class="list" data-testid="orders-list">
        {shown.map((view) => (
          <OrderRow key={view.order.id} view={view} selected={view.order.id === selected} />
        ))}
      </ul>
      {views.length > MAX_ROWS && <p class="list-meta">{views.length - MAX_ROWS} more — refine the search.</p>}
      {views.length === 0 && <p class="empty">No orders match.</p>}
    </section>
  );
}

// ---- riders ------------------------------------------------------------------------

export function RidersPanel() {
  void fixesVersion.value;
  void tick.value;
  const views = riderViews();
  const selected = selectedRider.value;
  const followed = followRider.value;
  return (
    <section class="panel" aria-labelledby="riders-heading">
      <h2 id="riders-heading" class="visually-hidden">
        Riders
      </h2>
      <p class="list-meta">{views.length} riders</p>
      <ul class="list" data-testid="riders-list">
        {views.map((v) => {
          const stale = isStale(v.ageMs);
          return (
            <li
              key={v.rider.id}
              class={`row${selected === v.rider.id ? " selected" : ""}`}
              data-testid="rider-row"
              data-rider-id={v.rider.id}
              data-stale={String(stale)}
            >
              <button type="button" class="row-main" onClick={() => selectRider(v.rider.id)}>
                <span class="swatch" style={{ background: stale ? "#9ca3af" : v.colour }} aria-hidden="true" />
                <span class="row-title">
                  <span>{v.rider.name}</span>
                  <span class="status-label">{v.rider.status.replace(/_/g, " ")}</span>
                </span>
                <span class="row-sub">
                  {v.fixAt ? (stale ? `stale fix, ${formatAge(v.ageMs ?? Number.NaN)}` : formatAge(v.ageMs ?? 0)) : "no fix"}
                  {" · "}
                  {v.rider.vehicle_type} · {v.rider.cold_box_slots} cold slot{v.rider.cold_box_slots === 1 ? "" : "s"}
                  {v.rider.shift_end_at && <> · shift until {formatClock(v.rider.shift_end_at)}</>}
                </span>
                <RiderBoxLine riderId={v.rider.id} />
                <span class="row-sub" data-testid="rider-next">
                  {v.nextStop ? (
                    <>
                      next: {v.nextStop.kind} <span class="mono">{shortId(v.nextStop.orderId)}</span>
                      {v.nextStop.etaAt && <> at {formatClock(v.nextStop.etaAt)}</>} · {v.stops} stop{v.stops === 1 ? "" : "s"} ahead
                    </>
                  ) : (
                    "no stops planned"
                  )}
                  {v.lateMin > 0 && (
                    <span class="late late-late" data-testid="rider-late">
                      {" "}
                      {v.lateMin} min late
                    </span>
                  )}
                </span>
              </button>
              <button
                type="button"
                class="follow"
                aria-pressed={followed === v.rider.id}
                aria-label={`Follow ${v.rider.name}`}
                disabled={v.lat == null}
                onClick={() => {
                  followRider.value = followed === v.rider.id ? null : v.rider.id;
                  if (followRider.value) selectRider(v.rider.id);
                }}
              >
                {followed === v.rider.id ? "Following" : "Follow"}
              </button>
              {selected === v.rider.id && <ColdBoxTools riderId={v.rider.id} />}
            </li>
          );
        })}
      </ul>
      {views.length === 0 && <p class="empty">No riders registered.</p>}
    </section>
  );
}

function RiderBoxLine({ riderId }: { riderId: string }) {
  const box = riderBoxes.value.get(riderId);
  if (!box) return null;
  const warm = box.in_range === false;
  return (
    <span class={`row-sub${warm ? " box-warm" : ""}`} data-testid="rider-box" data-in-range={String(box.in_range)}>
      box <span class="mono">{box.box_id}</span>
      {box.temp_c != null ? ` ${box.temp_c.toFixed(1)} °C` : " no reading yet"}
      {warm && box.low_c != null && box.high_c != null && ` (out of ${box.low_c}–${box.high_c} °C)`}
      {!box.fit_for_cold && " · quarantined"}
    </span>
  );
}

/** Look a cold box up by its id, then quarantine or clear it (with confirmation). */
function ColdBoxTools({ riderId }: { riderId: string }) {
  const [boxId, setBoxId] = useState(riderBoxes.value.get(riderId)?.box_id ?? "");
  const [box, setBox] = useState<ColdBox | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (!allowed("quarantine_box") && !allowed("clear_box")) return null;
  const lookUp = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setBox(null);
    try {
      setBox(await api<ColdBox>(`/cold-boxes/${encodeURIComponent(boxId.trim())}`));
    } catch (caught) {
      setError(caught instanceof ApiError ? [caught.title, caught.detail].filter(Boolean).join(" — ") : String(caught));
    }
  };
  return (
    <form class="box-tools" onSubmit={lookUp} data-testid="box-tools">
      <label class="field">
        <span>Cold box id</span>
        <input type="text" value={boxId} maxLength={64} onInput={(e) => setBoxId((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit" disabled={!boxId.trim()}>
        Look up
      </button>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {box && (
        <p class="box-state" data-testid="box-state" data-fit={String(box.fit_for_cold)}>
          {box.fit_for_cold ? "In cold service" : `Quarantined${box.quarantine_reason ? `: ${box.quarantine_reason}` : ""}`}
          {box.fit_for_cold
            ? allowed("quarantine_box") && (
                <button type="button" class="danger" onClick={() => ask(quarantineBox(box))}>
                  Quarantine…
                </button>
              )
            : allowed("clear_box") && (
                <button type="button" onClick={() => ask(clearBox(box))}>
                  Clear…
                </button>
              )}
        </p>
      )}
    </form>
  );
}

// ---- plan ----------------------------------------------------------------------------

export function PlanPanel() {
  const current = plan.value;
  const colours = riderColour.value;
  if (!current) {
    return (
      <section class="panel" data-testid="plan-panel">
        <p class="empty">No plan yet: the engine plans once there are orders and riders on shift.</p>
      </section>
    );
  }
  const stops = current.routes.reduce((n, r) => n + r.stops.length, 0);
  return (
    <section class="panel" aria-labelledby="plan-heading" data-testid="plan-panel">
      <h2 id="plan-heading" class="panel-title">
        Plan v{current.version}
      </h2>
      <dl class="facts">
        <dt>Status</dt>
        <dd>{current.status}</dd>
        <dt>Applied</dt>
        <dd>{formatClock(current.created_at)}</dd>
        <dt>Cost</dt>
        <dd>{formatInteger(current.cost)}</dd>
        <dt>Solve time</dt>
        <dd>{current.solve_time_s.toFixed(2)} s</dd>
        <dt>Routes</dt>
        <dd>
          {current.routes.length} ({stops} stops)
        </dd>
        <dt>Unassigned</dt>
        <dd>{current.unassigned.length}</dd>
        <dt>Triggers</dt>
        <dd>{current.trigger_reasons.join(", ") || "–"}</dd>
      </dl>
      <h3 class="panel-subtitle">Routes</h3>
      <ul class="list">
        {current.routes.map((r) => (
          <li key={r.rider_id} class="row">
            <button type="button" class="row-main" onClick={() => selectRider(r.rider_id)}>
              <span class="swatch" style={{ background: colours.get(r.rider_id) ?? "#64748b" }} aria-hidden="true" />
              <span class="row-title">{riderName(r.rider_id)}</span>
              <span class="row-sub">
                {r.stops.length} stops · {formatDistance(r.distance_m)} · {formatDuration(r.duration_s)}
              </span>
            </button>
          </li>
        ))}
      </ul>
      <h3 class="panel-subtitle">Released stops</h3>
      {releasedStops.value.length === 0 ? (
        <p class="empty">None since this page opened.</p>
      ) : (
        <ul class="list" data-testid="released-stops">
          {releasedStops.value.map((e) => (
            <li key={e.id} class="row">
              <span class="row-main">
                <span class="row-title">
                  {riderName(e.riderId ?? null)} · <span class="mono">{shortId(e.orderId ?? "")}</span>
                </span>
                <span class="row-sub">{e.detail}</span>
              </span>
            </li>
          ))}
        </ul>
      )}
      {current.unassigned.length > 0 && (
        <>
          <h3 class="panel-subtitle">Cannot serve</h3>
          <ul class="list">
            {current.unassigned.map((u) => (
              <li key={u.order_id} class="row">
                <button type="button" class="row-main" onClick={() => selectOrder(u.order_id)}>
                  <span class="row-title mono">{shortId(u.order_id)}</span>
                  <span class="row-reason">{reasonText(u.reason, u.detail)}</span>
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

// ---- events drawer ---------------------------------------------------------------

export function EventsDrawer() {
  const list = events.value;
  return (
    <aside class="drawer" aria-labelledby="events-heading" data-testid="events-drawer">
      <div class="drawer-head">
        <h2 id="events-heading" class="panel-title">
          Events
        </h2>
        <button type="button" class="link" onClick={() => (drawerOpen.value = false)}>
          Close
        </button>
      </div>
      {list.length === 0 && <p class="empty">Nothing yet. Live events appear here as they happen.</p>}
      <ol class="events">
        {list.map((e) => (
          <li key={e.id} class={`event event-${e.severity}`}>
            <button
              type="button"
              class="row-main"
              onClick={() => (e.orderId ? selectOrder(e.orderId) : e.riderId ? selectRider(e.riderId) : undefined)}
            >
              <span class="row-title">
                <time dateTime={e.ts}>{formatClock(clock.value.now(Date.parse(e.ts)))}</time> {e.title}
              </span>
              {(e.detail || e.orderId) && (
                <span class="row-sub">
                  {e.orderId && <span class="mono">{shortId(e.orderId)} </span>}
                  {e.detail}
                </span>
              )}
            </button>
          </li>
        ))}
      </ol>
    </aside>
  );
}

export function HelpDialog() {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog ref={ref} class="help" aria-labelledby="help-title" onClose={() => (helpOpen.value = false)}>
      <h2 id="help-title" class="panel-title">
        Keyboard shortcuts
      </h2>
      <dl class="shortcuts">
        {SHORTCUTS.map(([key, , text]) => (
          <>
            <dt>
              <kbd>{key === "F" ? "Shift+F" : key}</kbd>
            </dt>
            <dd>{text}</dd>
          </>
        ))}
      </dl>
      <form method="dialog">
        <button type="submit">Close</button>
      </form>
    </dialog>
  );
}

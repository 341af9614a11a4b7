// Keeping the console true to the server: the queue re-read at every
// (re)connect and on every hold event of the live feed; the selected hold's
// record (excursion, readings, box, audit trail) re-read when it changes.
import { setBusinessTimeZone } from "../domain/format";
import { batch } from "@preact/signals";
import { ApiError, api } from "../api/client";
import type {
  AuditEntryRead,
  BoxReadings,
  ColdBoxRead,
  HoldDetail,
  HoldRead,
  HoldRejected,
  UiConfigRead,
} from "../api/types";
import { BusinessClock } from "../domain/clock";
import type { FeedMessage } from "../live/envelope";
import { openDispatchFeed } from "../live/feed";
import type { LiveSocket } from "../live/socket";
import { bucketFor, readingsWindow } from "./chartData";
import {
  clock,
  connection,
  holds,
  lastSyncAt,
  loadingView,
  problem,
  reconnectAttempt,
  selectedId,
  view,
  type HoldView,
} from "./store";

export function asApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(0, "Unexpected error", String(error), "client_error");
}

async function loadClock(): Promise<void> {
  const served = await api<UiConfigRead>("/ui/config", { auth: false });
  clock.value = new BusinessClock(served.clock);
  setBusinessTimeZone(served.clock.time_zone);
}

let queueRun = 0;

/** Re-read the open holds (and the clock). */
export async function loadQueue(): Promise<void> {
  const run = ++queueRun;
  try {
    const [open] = await Promise.all([api<HoldRead[]>("/holds"), loadClock()]);
    if (run !== queueRun) return;
    batch(() => {
      holds.value = new Map(open.map((h) => [h.id, h]));
      lastSyncAt.value = Date.now();
      problem.value = null;
    });
  } catch (error) {
    if (run === queueRun) problem.value = asApiError(error);
  }
}

/** The readings around the excursion: raw, or in buckets when there are too many. */
async function loadReadings(boxId: string, startedAt: string, until: string): Promise<BoxReadings> {
  const { from, to } = readingsWindow(startedAt, until);
  const base = `/cold-boxes/${encodeURIComponent(boxId)}/readings?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
  try {
    return await api<BoxReadings>(base);
  } catch (error) {
    if (error instanceof ApiError && error.code === "too_many_points") {
      return api<BoxReadings>(`${base}&bucket=${bucketFor(from, to)}`);
    }
    throw error;
  }
}

function replacementsIn(audit: AuditEntryRead[]): string[] {
  const ids: string[] = [];
  for (const entry of audit) {
    if (entry.action !== "hold.rejected" || !Array.isArray(entry.details.replacements)) continue;
    for (const pair of entry.details.replacements as unknown[]) {
      if (Array.isArray(pair) && typeof pair[1] === "string") ids.push(pair[1]);
    }
  }
  return ids;
}

let viewRun = 0;

/** Read one hold's whole record for the detail pane. */
export async function loadView(holdId: number): Promise<void> {
  const run = ++viewRun;
  loadingView.value = true;
  try {
    const [hold, audit] = await Promise.all([
      api<HoldDetail>(`/holds/${holdId}`),
      api<AuditEntryRead[]>(`/holds/${holdId}/audit`),
    ]);
    let box: ColdBoxRead | null = null;
    let readings: BoxReadings | null = null;
    let readingsProblem: string | null = null;
    if (hold.box_id) {
      const boxId = hold.box_id;
      const excursion = hold.excursion;
      const [boxResult, readingsResult] = await Promise.allSettled([
        api<ColdBoxRead>(`/cold-boxes/${encodeURIComponent(boxId)}`),
        excursion ? loadReadings(boxId, excursion.started_at, excursion.until) : Promise.resolve(null),
      ]);
      if (boxResult.status === "fulfilled") box = boxResult.value;
      if (readingsResult.status === "fulfilled") readings = readingsResult.value;
      else readingsProblem = asApiError(readingsResult.reason).title;
    }
    if (run !== viewRun) return;
    const next: HoldView = { hold, audit, box, readings, readingsProblem, replacements: replacementsIn(audit) };
    view.value = next;
  } catch (error) {
    if (run === viewRun) problem.value = asApiError(error);
  } finally {
    if (run === viewRun) loadingView.value = false;
  }
}

export function selectHold(holdId: number | null): void {
  selectedId.value = holdId;
  if (holdId === null) {
    view.value = null;
    return;
  }
  if (view.value?.hold.id !== holdId) view.value = null;
  void loadView(holdId);
}

/** Everything again: the queue and the open hold (every reconnect, Retry). */
export async function fullSync(): Promise<void> {
  const id = selectedId.value;
  await Promise.all([loadQueue(), id !== null ? loadView(id) : Promise.resolve()]);
}

// ---- decisions (the server answers with the problem's title on failure) --------

export async function releaseHold(holdId: number, note: string): Promise<void> {
  await api<HoldRead>(`/holds/${holdId}/release`, { body: { note } });
  await fullSync();
}

export async function rejectHold(holdId: number, note: string): Promise<string[]> {
  const answer = await api<HoldRejected>(`/holds/${holdId}/reject`, { body: { note } });
  await fullSync();
  const current = view.value;
  if (current && current.hold.id === holdId && current.replacements.length === 0) {
    view.value = { ...current, replacements: answer.replacement_order_ids };
  }
  return answer.replacement_order_ids;
}

export async function clearBox(boxId: string, note: string): Promise<void> {
  await api<ColdBoxRead>(`/cold-boxes/${encodeURIComponent(boxId)}/clear`, { body: { note } });
  const id = selectedId.value;
  if (id !== null) await loadView(id);
}

// ---- the live feed ---------------------------------------------------------------

let queueTimer: number | undefined;

function refreshSoon(holdId: number | null): void {
  window.clearTimeout(queueTimer);
  queueTimer = window.setTimeout(() => {
    void loadQueue();
    const id = selectedId.value;
    if (id !== null && (holdId === null || holdId === id)) void loadView(id);
  }, 250);
}

const HOLD_EVENTS = new Set(["hold.placed", "hold.released", "hold.rejected"]);

export function applyMessage(message: FeedMessage): void {
  switch (message.type) {
    case "hello":
      void fullSync();
      return;
    case "alert":
      if (message.kind === "hold.placed") refreshSoon(null);
      else if (message.kind === "rider.changed" || message.kind === "excursion.opened") {
        // a box quarantined or cleared, or a new excursion on the open hold's box
        const boxId = typeof message.data.box_id === "string" ? message.data.box_id : null;
        if (boxId && view.value?.hold.box_id === boxId) refreshSoon(view.value.hold.id);
      }
      return;
    case "event":
      if (HOLD_EVENTS.has(message.name)) {
        const id = typeof message.data.hold_id === "number" ? message.data.hold_id : null;
        refreshSoon(id);
      }
      return;
    default:
      return;
  }
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

// The dispatcher's cold-chain banners: one per excursion, "box silent" as its
// own kind, each acknowledged once for every dispatcher (the server keeps it).
import { signal } from "@preact/signals";
import { ApiError, api } from "../api/client";
import type { FeedMessage } from "../live/envelope";
import { formatClock } from "../domain/format";
import {
  acknowledge,
  applyFeedMessage,
  bannerDetail,
  bannerTitle,
  fromSnapshot,
  openBanners,
  type ColdAlerts,
  type SnapshotAlert,
} from "./coldAlerts";
import { problem } from "./store";

export const coldAlerts = signal<ColdAlerts>(new Map());
const acknowledging = signal<ReadonlySet<string>>(new Set());

/** Re-read the open alerts from the dashboard snapshot (every resync). */
export async function loadColdAlerts(): Promise<void> {
  const snapshot = await api<{ alerts: SnapshotAlert[] }>("/dashboard/snapshot");
  coldAlerts.value = fromSnapshot(snapshot.alerts, coldAlerts.value);
}

export function applyColdAlertMessage(message: FeedMessage): void {
  const next = applyFeedMessage(coldAlerts.value, message);
  if (next !== coldAlerts.value) coldAlerts.value = next;
}

async function acknowledgeAlert(alertId: string, excursionId: number): Promise<void> {
  acknowledging.value = new Set([...acknowledging.value, alertId]);
  try {
    await api(`/excursions/${excursionId}/acknowledge`, { method: "POST" });
    coldAlerts.value = acknowledge(coldAlerts.value, alertId);
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      // someone else acknowledged it (or it is resolved): nothing left to do
      coldAlerts.value = acknowledge(coldAlerts.value, alertId);
    } else {
      problem.value =
        error instanceof ApiError ? error : new ApiError(0, "Unexpected error", String(error), "client_error");
    }
  } finally {
    const left = new Set(acknowledging.value);
    left.delete(alertId);
    acknowledging.value = left;
  }
}

export function ColdAlertBanners() {
  const open = openBanners(coldAlerts.value);
  if (open.length === 0) return null;
  return (
    <section class="cold-alerts" aria-label="Cold-chain alerts" data-testid="cold-alerts">
      {open.map((alert) => (
        <div
          key={alert.alertId}
          class={`banner cold-alert cold-alert-${alert.kind}`}
          role="alert"
          data-testid="cold-alert"
          data-alert-id={alert.alertId}
          data-kind={alert.kind}
        >
          <strong>{bannerTitle(alert)}</strong>
          <span>{bannerDetail(alert)}</span>
          {alert.since && <span class="cold-alert-since">since {formatClock(alert.since)}</span>}
          <button
            type="button"
            disabled={acknowledging.value.has(alert.alertId)}
            onClick={() => void acknowledgeAlert(alert.alertId, alert.excursionId)}
            aria-label={`Acknowledge ${bannerTitle(alert).toLowerCase()} on ${alert.boxId}`}
          >
            Acknowledge
          </button>
        </div>
      ))}
    </section>
  );
}

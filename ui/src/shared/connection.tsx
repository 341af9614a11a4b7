// The live feed's state as staff pages show it: a pill in the header, and the
// banners under it ("reconnecting", with what the page still shows and since
// when; an API problem's title and detail, with a retry).
import type { ApiError } from "../api/client";
import type { SocketState } from "../live/socket";

export function ConnectionPill({
  state,
  attempt,
  syncing = false,
}: {
  state: SocketState;
  attempt: number;
  syncing?: boolean;
}) {
  const label =
    state === "live"
      ? syncing
        ? "Live · syncing"
        : "Live"
      : state === "connecting"
        ? "Connecting…"
        : state === "reconnecting"
          ? `Reconnecting…${attempt > 1 ? ` (try ${attempt})` : ""}`
          : "Offline";
  return (
    <span class={`pill pill-${state}`} role="status" aria-live="polite" data-testid="connection" data-state={state}>
      <span class="pill-dot" aria-hidden="true" />
      {label}
    </span>
  );
}

export function ConnectionBanners({
  state,
  stale,
  problem,
  onReconnect,
  onRetry,
}: {
  state: SocketState;
  /** What the page still shows while reconnecting (null before a first sync). */
  stale: string | null;
  problem: ApiError | null;
  onReconnect: () => void;
  onRetry: () => void;
}) {
  return (
    <div class="banners">
      {(state === "reconnecting" || state === "connecting") && stale !== null && (
        <div class="banner banner-warn" role="status" data-testid="reconnecting-banner">
          Connection lost — reconnecting. {stale}
          <button type="button" onClick={onReconnect}>
            Retry now
          </button>
        </div>
      )}
      {problem && (
        <div class="banner banner-error" role="alert" data-testid="problem">
          <strong>{problem.title}</strong>
          {problem.detail && <span> — {problem.detail}</span>}
          <button type="button" onClick={onRetry}>
            Retry
          </button>
        </div>
      )}
    </div>
  );
}

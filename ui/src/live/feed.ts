// The staff pages' live feed (/ws/dispatch): the token in the URL (browsers
// cannot set headers on a websocket), and what a refused socket means. The
// dispatcher's map and the pharmacist's console both follow it; each page
// re-reads its data on every `hello`, so a reconnect never leaves it stale.
import { ApiError, api } from "../api/client";
import { loadSession, signOut } from "../auth/session";
import type { FeedMessage } from "./envelope";
import { LiveSocket, type SocketState } from "./socket";

export interface FeedHandlers {
  onMessage(message: FeedMessage): void;
  onState(state: SocketState, attempt: number): void;
  /** The credential is fine but the role may not follow the feed. */
  onForbidden(error: ApiError): void;
}

declare global {
  interface Window {
    /** The live feed (tests drop it to check reconnecting). */
    rxdLive?: LiveSocket;
  }
}

/** Open /ws/dispatch with the session's token and keep it open. */
export function openDispatchFeed(handlers: FeedHandlers): LiveSocket {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const socket = new LiveSocket(
    () => `${scheme}://${window.location.host}/ws/dispatch?access_token=${encodeURIComponent(loadSession()?.token ?? "")}`,
    {
      onMessage: handlers.onMessage,
      onState: handlers.onState,
      onRejected() {
        // 1008: ask the API why (a 401 there signs out with its reason)
        api("/auth/me").then(
          () => handlers.onForbidden(new ApiError(403, "Forbidden", "Your role may not follow the live feed.", "forbidden")),
          (error: unknown) => {
            if (!(error instanceof ApiError && error.status === 401)) {
              signOut("Your credential was refused. Please sign in again.");
            }
          },
        );
      },
    },
  );
  socket.start();
  window.rxdLive = socket;
  return socket;
}

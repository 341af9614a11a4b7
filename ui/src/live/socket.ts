// A websocket that keeps itself connected: exponential back-off with jitter,
// a heartbeat watchdog (a silent connection is treated as dropped), and the
// state the page shows ("live", "reconnecting"). Every (re)connect starts with
// the server's `hello`; the page re-reads its data then, so a dropped
// connection never leaves a silently stale map.
import { parseFrame, type FeedMessage } from "./envelope";

export type SocketState = "connecting" | "live" | "reconnecting" | "closed";

export const CLOSE_POLICY_VIOLATION = 1008;

/** Milliseconds before reconnect attempt `attempt` (1-based): 1 s doubling to 15 s, ±25 %. */
export function reconnectDelay(attempt: number, random: number = Math.random()): number {
  const base = Math.min(15_000, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.75 + 0.5 * random));
}

export interface LiveSocketHandlers {
  onMessage(message: FeedMessage): void;
  onState(state: SocketState, attempt: number): void;
  /** The server refused the credential (1008): the page checks and signs out. */
  onRejected(): void;
}

export class LiveSocket {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private retryTimer: number | undefined;
  private watchdog: number | undefined;
  private heartbeatMs = 15_000;
  private stopped = false;

  constructor(
    private readonly url: () => string,
    private readonly handlers: LiveSocketHandlers,
  ) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.retryTimer);
    window.clearTimeout(this.watchdog);
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState === WebSocket.CONNECTING) {
      // closing a socket still connecting logs an error in Chromium: close it once open
      ws.onmessage = null;
      ws.onopen = () => ws.close(1000, "page closed");
    } else {
      ws?.close(1000, "page closed");
    }
    this.handlers.onState("closed", 0);
  }

  /** Send a text frame when connected; false when it could not be sent. */
  send(text: string): boolean {
    if (this.ws === null || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(text);
    return true;
  }

  /** Drop the connection now and reconnect at once (tests, "retry now"). */
  reconnectNow(): void {
    window.clearTimeout(this.retryTimer);
    if (this.ws) this.ws.close(4000, "reconnect");
    else this.open();
  }

  private open(): void {
    if (this.stopped) return;
    this.handlers.onState(this.attempt === 0 ? "connecting" : "reconnecting", this.attempt);
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onmessage = (event: MessageEvent) => {
      if (typeof event.data !== "string") return;
      this.feedWatchdog();
      const message = parseFrame(event.data);
      if (message === null) return;
      if (message.type === "hello") {
        this.attempt = 0;
        this.heartbeatMs = message.heartbeatS * 1000;
        this.handlers.onState("live", 0);
      }
      this.handlers.onMessage(message);
    };
    ws.onclose = (event: CloseEvent) => {
      if (this.ws !== ws) return;
      window.clearTimeout(this.watchdog);
      this.ws = null;
      if (this.stopped) return;
      if (event.code === CLOSE_POLICY_VIOLATION) {
        this.handlers.onRejected();
      }
      this.attempt += 1;
      this.handlers.onState("reconnecting", this.attempt);
      const delay = event.code === 4000 ? 0 : reconnectDelay(this.attempt);
      this.retryTimer = window.setTimeout(() => this.open(), delay);
    };
    this.feedWatchdog();
  }

  private feedWatchdog(): void {
    window.clearTimeout(this.watchdog);
    this.watchdog = window.setTimeout(() => this.ws?.close(4001, "no heartbeat"), this.heartbeatMs * 2.5);
  }
}

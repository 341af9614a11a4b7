// The rider's confirmations (pickup, delivery, failure) wait here until the
// server has answered them. Each gets its Idempotency-Key when it is queued and
// keeps it for every retry, so a confirmation sent twice (a lost answer, a
// reload, coming back online) lands once. A network error, a 5xx or a 429
// leaves the item waiting; a 401 leaves it waiting and signs the rider out; any
// other refusal keeps it visible with the problem's title until the rider
// dismisses it. Nothing is dropped without the rider seeing it.

export type ActionKind = "pickup" | "delivery" | "failure";

export interface QueueProblem {
  status: number;
  title: string;
  detail: string;
  code: string;
}

export interface QueuedAction {
  /** The Idempotency-Key: fixed when queued, sent on every try. */
  key: string;
  kind: ActionKind;
  orderId: string;
  stopId: string;
  /** What the list shows ("Delivery to Maria"): never a code or a product. */
  label: string;
  body: Record<string, unknown>;
  queuedAt: string;
  state: "waiting" | "refused";
  tries: number;
  problem?: QueueProblem;
}

/** The server's answer to one try: ok, or the problem (status 0: no network). */
export type SendResult = { ok: true } | ({ ok: false } & QueueProblem);

export type Send = (action: QueuedAction) => Promise<SendResult>;

export interface QueueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export const QUEUE_KEY = "rxd.rider.queue";

/** Whether an answer means "try again later" rather than "refused". */
export function isRetryable(result: SendResult): boolean {
  return !result.ok && (result.status === 0 || result.status === 401 || result.status === 429 || result.status >= 500);
}

/** The path a queued action is posted to. */
export function actionPath(action: Pick<QueuedAction, "kind" | "orderId">): string {
  return `/orders/${encodeURIComponent(action.orderId)}/${action.kind}`;
}

const isAction = (value: unknown): value is QueuedAction => {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Partial<QueuedAction>;
  return (
    typeof v.key === "string" &&
    (v.kind === "pickup" || v.kind === "delivery" || v.kind === "failure") &&
    typeof v.orderId === "string" &&
    typeof v.stopId === "string" &&
    typeof v.label === "string" &&
    typeof v.body === "object" &&
    v.body !== null &&
    (v.state === "waiting" || v.state === "refused")
  );
};

/** The stored queue; malformed entries are kept out, never thrown on. */
export function loadQueue(storage: QueueStorage): QueuedAction[] {
  try {
    const raw = storage.getItem(QUEUE_KEY);
    const value: unknown = raw ? JSON.parse(raw) : [];
    return Array.isArray(value) ? value.filter(isAction) : [];
  } catch {
    return [];
  }
}

export function saveQueue(storage: QueueStorage, items: readonly QueuedAction[]): void {
  if (items.length === 0) storage.removeItem(QUEUE_KEY);
  else storage.setItem(QUEUE_KEY, JSON.stringify(items));
}

/** A fresh Idempotency-Key (128 random bits, hex); also on plain-HTTP pages,
 * where crypto.randomUUID does not exist. */
export function newKey(random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  return Array.from(random(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A new waiting action with its key. */
export function newAction(
  fields: Pick<QueuedAction, "kind" | "orderId" | "stopId" | "label" | "body">,
  key: string,
  now: Date = new Date(),
): QueuedAction {
  return { ...fields, key, queuedAt: now.toISOString(), state: "waiting", tries: 0 };
}

/** The stop ids with a confirmation still in the queue (their forms are locked). */
export function pendingStops(items: readonly QueuedAction[]): Set<string> {
  return new Set(items.map((item) => item.stopId));
}

export interface FlushOutcome {
  items: QueuedAction[];
  sent: string[];
  /** The server refused the credential: sign in again, the items wait. */
  unauthorized: boolean;
  /** A retryable failure stopped the run; try again later. */
  stalled: boolean;
}

/**
 * Send the waiting items in order, one at a time. `onChange` sees the queue
 * after every answer (to persist and show it). A retryable failure stops the
 * run so the order of confirmations is kept.
 */
export async function flush(
  start: readonly QueuedAction[],
  send: Send,
  onChange: (items: QueuedAction[]) => void = () => {},
): Promise<FlushOutcome> {
  let items = [...start];
  const sent: string[] = [];
  for (const action of start) {
    if (action.state !== "waiting") continue;
    const result = await send(action);
    if (result.ok) {
      items = items.filter((item) => item.key !== action.key);
      sent.push(action.key);
      onChange(items);
      continue;
    }
    const tried: QueuedAction = { ...action, tries: action.tries + 1 };
    const { ok: _ok, ...problem } = result;
    if (isRetryable(result)) {
      items = items.map((item) => (item.key === action.key ? { ...tried, problem } : item));
      onChange(items);
      return { items, sent, unauthorized: result.status === 401, stalled: true };
    }
    items = items.map((item) => (item.key === action.key ? { ...tried, state: "refused", problem } : item));
    onChange(items);
  }
  return { items, sent, unauthorized: false, stalled: false };
}

/** Remove an item the rider chose to dismiss (refused ones only). */
export function dismiss(items: readonly QueuedAction[], key: string): QueuedAction[] {
  return items.filter((item) => item.key !== key || item.state !== "refused");
}

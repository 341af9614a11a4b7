// Late and at-risk orders: the gold ring in the list and on the map.
import type { Order } from "../api/types";
import { isTerminal, statusKey } from "./status";

export type LateState = "on_time" | "at_risk" | "late";

export interface Lateness {
  state: LateState;
  /** How far past the window's end (late: now; at risk: the ETA), ms; 0 on time. */
  byMs: number;
}

const ON_TIME: Lateness = { state: "on_time", byMs: 0 };

/**
 * Whether an open order is past its window (late) or expected past it (at risk:
 * its ETA, or the plan's planned arrival with `planLateS` > 0). Ended orders are
 * never flagged.
 */
export function lateness(
  order: Pick<Order, "status" | "window_end_at">,
  nowMs: number,
  etaMs?: number | null,
  planLateS?: number | null,
): Lateness {
  if (isTerminal(statusKey(order.status))) return ON_TIME;
  const endMs = Date.parse(order.window_end_at);
  if (!Number.isFinite(endMs)) return ON_TIME;
  if (nowMs > endMs) return { state: "late", byMs: nowMs - endMs };
  if (etaMs != null && etaMs > endMs) return { state: "at_risk", byMs: etaMs - endMs };
  if (planLateS != null && planLateS > 0) return { state: "at_risk", byMs: planLateS * 1000 };
  return ON_TIME;
}

// One status palette for the order list, the chips and the map.
import type { Order, OrderStatus } from "../api/types";

/** What a dispatcher sees: the API's statuses folded into the board's buckets. */
export type StatusKey =
  | "unassigned"
  | "on_hold"
  | "assigned"
  | "picked_up"
  | "delivered"
  | "failed"
  | "cancelled";

/** Board order: what needs attention first (a failed delivery before a done one). */
export const STATUS_KEYS: readonly StatusKey[] = [
  "unassigned",
  "on_hold",
  "assigned",
  "picked_up",
  "failed",
  "delivered",
  "cancelled",
];

export interface StatusStyle {
  label: string;
  /** Fill on the map and the dot in lists (white outline on the map). */
  colour: string;
}

export const STATUS_STYLES: Readonly<Record<StatusKey, StatusStyle>> = {
  unassigned: { label: "Unassigned", colour: "#64748b" },
  on_hold: { label: "On hold", colour: "#ea580c" },
  assigned: { label: "Assigned", colour: "#7c3aed" },
  picked_up: { label: "Picked up", colour: "#2563eb" },
  delivered: { label: "Delivered", colour: "#16a34a" },
  failed: { label: "Failed", colour: "#dc2626" },
  cancelled: { label: "Cancelled", colour: "#a8a29e" },
};

/** The gold ring of a late (or at-risk) order. */
export const LATE_COLOUR = "#eab308";

const BY_API_STATUS: Readonly<Record<OrderStatus, StatusKey>> = {
  created: "unassigned",
  sourced: "unassigned",
  assigned: "assigned",
  picked_up: "picked_up",
  delivered: "delivered",
  failed: "failed",
  cancelled: "cancelled",
  on_hold: "on_hold",
};

/** The board bucket of an API status (unknown statuses count as unassigned). */
export function statusKey(status: OrderStatus | string): StatusKey {
  return BY_API_STATUS[status as OrderStatus] ?? "unassigned";
}

/** Statuses after which nothing happens to an order any more. */
export function isTerminal(key: StatusKey): boolean {
  return key === "delivered" || key === "failed" || key === "cancelled";
}

/** Orders per bucket (every bucket present, zero included). */
export function countByStatus(orders: Iterable<Pick<Order, "status">>): Record<StatusKey, number> {
  const counts = Object.fromEntries(STATUS_KEYS.map((k) => [k, 0])) as Record<StatusKey, number>;
  for (const order of orders) counts[statusKey(order.status)] += 1;
  return counts;
}

/** A MapLibre `match` expression colouring features by their `status` property. */
export function statusColourExpression(): unknown[] {
  const expression: unknown[] = ["match", ["get", "status"]];
  for (const key of STATUS_KEYS) expression.push(key, STATUS_STYLES[key].colour);
  expression.push(STATUS_STYLES.unassigned.colour);
  return expression;
}

import { beforeEach, describe, expect, it } from "vitest";
import type { Order, Plan } from "../api/types";
import { BusinessClock } from "../domain/clock";
import { STATUS_KEYS } from "../domain/status";
import {
  clock,
  orderViews,
  orders,
  plan,
  search,
  statusCounts,
  statusFilter,
  tick,
  toggleStatus,
  visibleOrders,
} from "./store";

const NOW = Date.parse("2026-12-07T10:00:00Z");

function order(id: string, status: Order["status"], endAt: string, extra: Partial<Order> = {}): Order {
  return {
    id,
    patient_ref: `P-${id}`,
    status,
    delivery_location: { lat: 35.9, lon: 14.5 },
    lines: [{ sku: "SKU", quantity: 1 }],
    window_start_at: "2026-12-07T09:00:00Z",
    window_end_at: endAt,
    priority: "standard",
    proof_level: "otp",
    created_at: "2026-12-07T08:00:00Z",
    pharmacy_id: "ph-1",
    rider_id: null,
    unassigned_reason: null,
    replacement_of: null,
    replaced_by: null,
    dispatched_by: "planner",
    picked_up_at: null,
    ...extra,
  };
}

const PLAN: Plan = {
  version: 4,
  created_at: "2026-12-07T09:59:00Z",
  status: "ok",
  cost: 1000,
  solve_time_s: 1,
  trigger_reasons: ["order.placed"],
  routes: [
    {
      rider_id: "r1",
      duration_s: 900,
      distance_m: 5000,
      stops: [
        { stop_id: "b:delivery", order_id: "b", kind: "delivery", pharmacy_id: null, planned_arrival_at: "2026-12-07T10:20:00Z", eta_at: null, late_s: 300 },
      ],
    },
  ],
  unassigned: [
    {
      order_id: "a",
      reason: "window_impossible",
      detail: "the delivery window closes at 14:02; the earliest a rider can arrive is 14:30",
      deadline_at: "2026-12-07T13:02:00Z",
      earliest_at: "2026-12-07T13:30:00Z",
    },
  ],
};

beforeEach(() => {
  clock.value = new BusinessClock({ now: new Date(NOW).toISOString(), speed: 1 }, NOW);
  tick.value = NOW;
  search.value = "";
  statusFilter.value = new Set(STATUS_KEYS);
  plan.value = PLAN;
  orders.value = new Map(
    [
      order("d", "delivered", "2026-12-07T09:30:00Z", { rider_id: "r1" }),
      order("b", "assigned", "2026-12-07T10:30:00Z", { rider_id: "r1" }),
      order("a", "sourced", "2026-12-07T11:00:00Z"),
      order("c", "sourced", "2026-12-07T09:50:00Z"),
    ].map((o) => [o.id, o]),
  );
});

describe("the orders board", () => {
  it("puts unassigned first (late ones on top) with the engine's reason", () => {
    const views = orderViews.value;
    expect(views.map((v) => v.order.id)).toEqual(["c", "a", "b", "d"]);
    expect(views[0]?.late.state).toBe("late");
    expect(views[1]?.reason).toBe(
      "Cannot make the delivery window: the delivery window closes at 14:02; the earliest a rider can arrive is 14:30",
    );
    expect(views[2]?.late).toEqual({ state: "at_risk", byMs: 300_000 });
    expect(views[3]?.late.state).toBe("on_time"); // delivered: never flagged
  });

  it("counts chips after the search and filters list and map by them", () => {
    search.value = "P-a";
    expect(statusCounts.value.unassigned).toBe(1);
    search.value = "";
    expect(statusCounts.value).toMatchObject({ unassigned: 2, assigned: 1, delivered: 1 });
    toggleStatus("unassigned");
    expect(visibleOrders.value.map((v) => v.order.id)).toEqual(["b", "d"]);
    toggleStatus("assigned", true);
    expect(visibleOrders.value.map((v) => v.order.id)).toEqual(["b"]);
    toggleStatus("assigned", true); // again: everything back
    expect(visibleOrders.value).toHaveLength(4);
  });

  it("finds orders by rider", () => {
    search.value = "r1";
    expect(visibleOrders.value.map((v) => v.order.id).sort()).toEqual(["b", "d"]);
  });
});

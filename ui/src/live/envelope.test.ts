import { describe, expect, it } from "vitest";
import { parseFix, parseFrame, touchedOrders } from "./envelope";
import { describe as describeEvent } from "./events";

const frame = (type: string, data: unknown, v = 1): string =>
  JSON.stringify({ v, type, ts: "2026-12-07T10:00:00Z", data });

describe("parseFrame", () => {
  it("reads hello with its heartbeat", () => {
    const m = parseFrame(frame("hello", { role: "dispatcher", subject_id: "u1", heartbeat_s: 15 }));
    expect(m).toEqual({ type: "hello", ts: "2026-12-07T10:00:00Z", role: "dispatcher", subjectId: "u1", heartbeatS: 15 });
  });

  it("reads a positions frame and drops malformed fixes", () => {
    const m = parseFrame(
      frame("positions", [
        { rider_id: "r1", lat: 35.9, lon: 14.5, at: "2026-12-07T10:00:00Z", speed_mps: 4 },
        { rider_id: "r2", lat: 95, lon: 14.5, at: "2026-12-07T10:00:00Z" },
        { rider_id: "r3", lat: 35.9, lon: 14.5, at: "not a time" },
        { lat: 35.9, lon: 14.5, at: "2026-12-07T10:00:00Z" },
        "junk",
      ]),
    );
    expect(m?.type).toBe("positions");
    if (m?.type !== "positions") throw new Error("unreachable");
    expect(m.fixes).toEqual([{ rider_id: "r1", lat: 35.9, lon: 14.5, at: "2026-12-07T10:00:00Z", speed_mps: 4 }]);
  });

  it("refuses other envelope versions, bad JSON and missing types", () => {
    expect(parseFrame(frame("heartbeat", {}, 2))).toBeNull();
    expect(parseFrame("{not json")).toBeNull();
    expect(parseFrame(JSON.stringify({ v: 1, data: {} }))).toBeNull();
    expect(parseFrame(JSON.stringify([1, 2]))).toBeNull();
  });

  it("reads order lifecycle events", () => {
    const m = parseFrame(
      frame("order.status_changed", {
        type: "order.status_changed",
        order_id: "o1",
        from_status: "sourced",
        to_status: "assigned",
        actor: "system",
        at: "2026-12-07T10:00:01Z",
      }),
    );
    expect(m).toMatchObject({ type: "order.status_changed", orderId: "o1", fromStatus: "sourced", toStatus: "assigned" });
    expect(parseFrame(frame("order.status_changed", { order_id: "o1" }))).toBeNull();
  });

  it("keeps unknown event types for the drawer", () => {
    const m = parseFrame(frame("hold.released", { hold_id: 3, order_ids: ["a", "b"] }));
    expect(m).toMatchObject({ type: "event", name: "hold.released" });
    expect(m && touchedOrders(m)).toEqual(["a", "b"]);
  });

  it("reads ETA updates and skips malformed entries", () => {
    const m = parseFrame(
      frame("eta.updated", { rider_id: "r1", etas: [{ stop_id: "o1:delivery", eta_at: "2026-12-07T10:05:00Z" }, { stop_id: 3 }] }),
    );
    expect(m).toMatchObject({ type: "eta.updated", riderId: "r1", etas: [{ stop_id: "o1:delivery" }] });
  });
});

describe("alerts", () => {
  it("are named by the event's type even when its data has a kind of its own", () => {
    const m = parseFrame(
      frame("alert", { kind: "box_silent", type: "excursion.opened", box_id: "box-7", order_ids: ["o1"] }),
    );
    expect(m).toMatchObject({ type: "alert", kind: "excursion.opened" });
    expect(m && describeEvent(m)).toMatchObject({
      title: "Cold-box excursion",
      severity: "critical",
      detail: "Box silent · box-7",
    });
    expect(m && touchedOrders(m)).toEqual(["o1"]);
  });

  it("title unknown kinds readably", () => {
    const m = parseFrame(frame("alert", { kind: "route.deviation", rider_id: "r1" }));
    expect(m && describeEvent(m)).toMatchObject({ title: "Route deviation", severity: "warning", riderId: "r1" });
  });
});

describe("plan.updated", () => {
  it("carries the plan's counts into the drawer", () => {
    const m = parseFrame(frame("plan.updated", { version: 7, routes: 3, assigned: 12, unassigned: 2, status: "ok" }));
    expect(m).toMatchObject({ type: "plan.updated", version: 7, routes: 3, assigned: 12, unassigned: 2 });
    expect(m && describeEvent(m)).toMatchObject({
      title: "Plan v7 applied",
      detail: "3 routes · 12 assigned · 2 unassigned",
      severity: "warning",
    });
    const one = parseFrame(frame("plan.updated", { version: 8, routes: 1, assigned: 1, unassigned: 0 }));
    expect(one && describeEvent(one)).toMatchObject({
      detail: "1 route · 1 assigned · 0 unassigned",
      severity: "info",
    });
    expect(parseFrame(frame("plan.updated", { routes: 3 }))).toBeNull();
  });
});

describe("touchedOrders", () => {
  it("names the orders of alerts and replacements", () => {
    const alert = parseFrame(frame("alert", { kind: "order.unassignable", order_id: "o9", reason: "no_vehicle" }));
    expect(alert && touchedOrders(alert)).toEqual(["o9"]);
    const rejected = parseFrame(frame("hold.rejected", { hold_id: 1, replacements: [["o1", "o2"]] }));
    expect(rejected && touchedOrders(rejected)).toEqual(["o1", "o2"]);
  });
});

describe("parseFix", () => {
  it("keeps optional speed and heading only when numeric", () => {
    expect(parseFix({ rider_id: "r", lat: 1, lon: 2, at: "2026-01-01T00:00:00Z", heading_deg: "x" })).toEqual({
      rider_id: "r",
      lat: 1,
      lon: 2,
      at: "2026-01-01T00:00:00Z",
    });
  });
});

describe("events drawer lines", () => {
  it("titles alerts by kind with a severity", () => {
    const m = parseFrame(frame("alert", { kind: "hold.placed", order_ids: ["o1"], reason: "excursion", box_id: "box-1" }));
    const line = m && describeEvent(m);
    expect(line).toMatchObject({ title: "Orders put on hold", severity: "critical", detail: "excursion · box-1" });
  });

  it("ignores heartbeats and positions", () => {
    const m = parseFrame(frame("heartbeat", { pending: 0 }));
    expect(m && describeEvent(m)).toBeNull();
  });
});

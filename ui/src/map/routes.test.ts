import { describe, expect, it } from "vitest";
import type { Plan, PlannedStopWithLeg } from "../api/types";
import { decodePolyline, encodePolyline } from "./polyline";
import { legCoordinates, routeFeatures, stopFeatures, type Place } from "./routes";

describe("polyline", () => {
  it("decodes Google's reference example", () => {
    expect(decodePolyline("_p~iF~ps|U_ulLnnqC_mqNvxq`@")).toEqual([
      [-120.2, 38.5],
      [-120.95, 40.7],
      [-126.453, 43.252],
    ]);
  });
  it("round-trips", () => {
    const points: [number, number][] = [
      [14.5146, 35.8989],
      [14.512, 35.8975],
    ];
    expect(decodePolyline(encodePolyline(points))).toEqual(points);
  });
  it("refuses a truncated string", () => {
    expect(() => decodePolyline("_p~iF~ps|U_")).toThrow();
  });
});

const stop = (order_id: string, kind: string, polyline?: string): PlannedStopWithLeg => ({
  stop_id: `${order_id}:${kind}`,
  order_id,
  kind,
  pharmacy_id: kind === "pickup" ? "ph-1" : null,
  planned_arrival_at: "2026-12-07T10:00:00Z",
  eta_at: null,
  late_s: 0,
  ...(polyline ? { polyline } : {}),
});

const PH: Place = { lat: 35.9, lon: 14.5 };
const HOME: Place = { lat: 35.91, lon: 14.52 };

const plan = (stops: PlannedStopWithLeg[]): Plan => ({
  version: 3,
  created_at: "2026-12-07T10:00:00Z",
  status: "ok",
  cost: 100,
  solve_time_s: 0.5,
  trigger_reasons: [],
  routes: [{ rider_id: "r1", duration_s: 600, distance_m: 2000, stops }],
  unassigned: [],
});

const ctx = (done: Set<string> = new Set()) => ({
  riderPosition: (id: string) => (id === "r1" ? { lat: 35.88, lon: 14.49 } : null),
  stopPlace: (s: PlannedStopWithLeg) => (s.kind === "pickup" ? PH : HOME),
  stopPending: (s: PlannedStopWithLeg) => !done.has(`${s.order_id}:${s.kind}`),
  riderColour: () => "#123456",
});

describe("routes", () => {
  it("draws straight legs from the rider through the pending stops", () => {
    const fc = routeFeatures(plan([stop("o1", "pickup"), stop("o1", "delivery")]), ctx());
    expect(fc.features.map((f) => f.geometry.coordinates)).toEqual([
      [
        [14.49, 35.88],
        [14.5, 35.9],
      ],
      [
        [14.5, 35.9],
        [14.52, 35.91],
      ],
    ]);
    expect(fc.features.every((f) => !f.properties.routed && f.properties.colour === "#123456")).toBe(true);
  });

  it("uses a leg's polyline when the API sends one", () => {
    const road: [number, number][] = [
      [14.5, 35.9],
      [14.51, 35.905],
      [14.52, 35.91],
    ];
    const fc = routeFeatures(plan([stop("o1", "pickup"), stop("o1", "delivery", encodePolyline(road))]), ctx());
    expect(fc.features[1]?.geometry.coordinates).toEqual(road);
    expect(fc.features[1]?.properties.routed).toBe(true);
  });

  it("joins the first road leg to the rider's live position", () => {
    const road: [number, number][] = [
      [14.495, 35.885],
      [14.5, 35.9],
    ];
    const fc = routeFeatures(plan([stop("o1", "pickup", encodePolyline(road))]), ctx());
    expect(fc.features[0]?.geometry.coordinates).toEqual([[14.49, 35.88], ...road]);
  });

  it("skips stops already done", () => {
    const fc = routeFeatures(plan([stop("o1", "pickup"), stop("o1", "delivery")]), ctx(new Set(["o1:pickup"])));
    expect(fc.features).toHaveLength(1);
    expect(fc.features[0]?.geometry.coordinates[1]).toEqual([14.52, 35.91]);
  });

  it("falls back to a straight leg on a malformed polyline", () => {
    expect(legCoordinates(PH, HOME, "_p~iF~ps|U_")).toEqual([
      [14.5, 35.9],
      [14.52, 35.91],
    ]);
  });

  it("takes a leg's road geometry from the route's legs by the stop it reaches", () => {
    const road: [number, number][] = [
      [14.5, 35.9],
      [14.51, 35.905],
      [14.52, 35.91],
    ];
    const p = plan([stop("o1", "pickup"), stop("o1", "delivery")]);
    const legs = [
      { from_stop_id: "o1:pickup", to_stop_id: "o1:delivery", distance_m: 900, polyline: encodePolyline(road) },
    ];
    const withLegs: Plan = { ...p, routes: p.routes.map((r) => ({ ...r, legs })) };
    const features = routeFeatures(withLegs, ctx()).features;
    expect(features.map((f) => f.properties.routed)).toEqual([false, true]);
    expect(features[1]?.geometry.coordinates).toEqual(road);
  });

  it("has no lines without a plan", () => {
    expect(routeFeatures(null, ctx()).features).toEqual([]);
  });
});

describe("numbered stops", () => {
  it("numbers the pending stops in plan order and carries their ETA", () => {
    const p = plan([stop("o1", "pickup"), stop("o1", "delivery"), stop("o2", "delivery")]);
    const fc = stopFeatures(
      p,
      ctx(new Set(["o1:pickup"])),
      (id) => (id === "o2:delivery" ? "2026-12-07T11:30:00Z" : null),
      (iso) => iso.slice(11, 16),
    );
    expect(fc.features.map((f) => [f.properties.order_id, f.properties.kind, f.properties.n, f.properties.eta])).toEqual([
      ["o1", "delivery", 1, "10:00"],
      ["o2", "delivery", 2, "11:30"],
    ]);
    expect(fc.features[0]?.geometry.coordinates).toEqual([HOME.lon, HOME.lat]);
  });
});

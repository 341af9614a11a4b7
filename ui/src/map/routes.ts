// Planned routes as map lines. Each leg (to the next stop) is the API's encoded
// polyline when the plan carries one, else a straight segment: the rest of the
// map code only sees LineString features, so road geometry drops in unchanged.
import type { Feature, FeatureCollection, LineString, Point } from "geojson";
import type { Plan, PlannedStopWithLeg } from "../api/types";
import { decodePolyline, type LonLat } from "./polyline";

export interface Place {
  lat: number;
  lon: number;
}

export interface RouteContext {
  /** The rider's latest fix (the first leg starts there), if any. */
  riderPosition(riderId: string): Place | null;
  /** Where a stop is: the pharmacy for a pickup, the patient for a delivery. */
  stopPlace(stop: PlannedStopWithLeg): Place | null;
  /** Whether the stop is still ahead (its order not ended, a pickup not done). */
  stopPending(stop: PlannedStopWithLeg): boolean;
  riderColour(riderId: string): string;
}

export interface LegProperties {
  rider_id: string;
  colour: string;
  /** Index of the stop this leg reaches among the pending stops. */
  leg: number;
  kind: string;
  order_id: string;
  /** true: road geometry from the API; false: a straight stand-in. */
  routed: boolean;
}

/** The coordinates of one leg: the decoded polyline, else from -> to. */
export function legCoordinates(from: Place, to: Place, polyline?: string | null): LonLat[] {
  if (polyline) {
    try {
      const points = decodePolyline(polyline);
      if (points.length >= 2) return points;
    } catch {
      // a malformed polyline falls back to the straight leg
    }
  }
  return [
    [from.lon, from.lat],
    [to.lon, to.lat],
  ];
}

/** One LineString feature per pending leg of every planned route. */
export function routeFeatures(
  plan: Plan | null,
  ctx: RouteContext,
): FeatureCollection<LineString, LegProperties> {
  const features: Feature<LineString, LegProperties>[] = [];
  for (const route of plan?.routes ?? []) {
    // the API's road geometry, per leg, by the stop the leg reaches
    const roads = new Map<string, string>();
    for (const l of route.legs ?? []) if (l.polyline) roads.set(l.to_stop_id, l.polyline);
    const stops = (route.stops as PlannedStopWithLeg[])
      .filter((s) => ctx.stopPending(s))
      .map((s) => (s.polyline || !roads.has(s.stop_id) ? s : { ...s, polyline: roads.get(s.stop_id) }));
    let from: Place | null = ctx.riderPosition(route.rider_id);
    const colour = ctx.riderColour(route.rider_id);
    stops.forEach((stop, leg) => {
      const to = ctx.stopPlace(stop);
      if (!to) return;
      if (from) {
        const coordinates = legCoordinates(from, to, stop.polyline);
        const head = coordinates[0];
        const away = head && (Math.abs(head[0] - from.lon) > 1e-5 || Math.abs(head[1] - from.lat) > 1e-5);
        if (leg === 0 && stop.polyline && away) {
          // the road geometry starts where the rider was when the plan was made:
          // join it to where the rider is now, so the line leaves the marker
          coordinates.unshift([from.lon, from.lat]);
        }
        features.push({
          type: "Feature",
          geometry: { type: "LineString", coordinates },
          properties: {
            rider_id: route.rider_id,
            colour,
            leg,
            kind: stop.kind,
            order_id: stop.order_id,
            routed: Boolean(stop.polyline),
          },
        });
      }
      from = to;
    });
  }
  return { type: "FeatureCollection", features };
}

export interface StopProperties {
  rider_id: string;
  colour: string;
  /** 1 for the rider's next stop, then 2, 3...: the order they are planned in. */
  n: number;
  kind: string;
  order_id: string;
  /** "14:05" (the live ETA, else the planned arrival); "" when unknown. */
  eta: string;
  /** The plan expects it after its window. */
  late: boolean;
}

/**
 * One numbered point per pending stop of every planned route, with its ETA
 * (`etaOf` gives the live ETA by stop id, else the plan's arrival is used).
 */
export function stopFeatures(
  plan: Plan | null,
  ctx: Pick<RouteContext, "stopPlace" | "stopPending" | "riderColour">,
  etaOf: (stopId: string) => string | null,
  formatEta: (iso: string) => string,
): FeatureCollection<Point, StopProperties> {
  const features: Feature<Point, StopProperties>[] = [];
  for (const route of plan?.routes ?? []) {
    const colour = ctx.riderColour(route.rider_id);
    let n = 0;
    for (const stop of route.stops) {
      if (!ctx.stopPending(stop)) continue;
      n += 1;
      const place = ctx.stopPlace(stop);
      if (!place) continue;
      const at = etaOf(stop.stop_id) ?? stop.eta_at ?? stop.planned_arrival_at;
      features.push({
        type: "Feature",
        geometry: { type: "Point", coordinates: [place.lon, place.lat] },
        properties: {
          rider_id: route.rider_id,
          colour,
          n,
          kind: stop.kind,
          order_id: stop.order_id,
          eta: at ? formatEta(at) : "",
          late: stop.late_s > 0,
        },
      });
    }
  }
  return { type: "FeatureCollection", features };
}

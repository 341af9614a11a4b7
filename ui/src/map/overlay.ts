// The dispatcher's own map layers: one GeoJSON source per layer, updated with
// setData at most once per animation frame. The riders, who move every second,
// are DOM markers moved in place (riderMarkers.ts): no map redraw per fix.
// They sit over any basemap: the bundled one or API_MAP_STYLE_URL's.
import type { Feature, FeatureCollection, Geometry } from "geojson";
import type { GeoJSONSource, Map as MapLibreMap } from "maplibre-gl";
import { LATE_COLOUR, statusColourExpression } from "../domain/status";
import { liveProbe } from "../live/probe";
import { LABEL_FONT } from "./style";

export const SOURCES = {
  area: "rxd-area",
  routes: "rxd-routes",
  stops: "rxd-stops",
  pharmacies: "rxd-pharmacies",
  orders: "rxd-orders",
} as const;

export type SourceId = (typeof SOURCES)[keyof typeof SOURCES];

export const INTERACTIVE_LAYERS = ["orders-cluster", "orders-point", "pharmacies-dot", "stops-dot"];

const EMPTY: FeatureCollection = { type: "FeatureCollection", features: [] };

/** Add our sources and layers (idempotent: skips what exists). */
export function addOverlay(map: MapLibreMap): void {
  if (map.getSource(SOURCES.orders)) return;
  for (const id of Object.values(SOURCES)) {
    if (id === SOURCES.orders) {
      map.addSource(id, {
        type: "geojson",
        data: EMPTY,
        cluster: true,
        clusterRadius: 42,
        clusterMaxZoom: 14,
        clusterProperties: {
          late: ["+", ["case", ["get", "late"], 1, 0]],
          unassigned: ["+", ["case", ["==", ["get", "status"], "unassigned"], 1, 0]],
        },
      });
    } else {
      map.addSource(id, { type: "geojson", data: EMPTY });
    }
  }
  map.addLayer({
    id: "area-fill",
    type: "fill",
    source: SOURCES.area,
    paint: { "fill-color": "#2563eb", "fill-opacity": 0.04 },
  });
  map.addLayer({
    id: "area-line",
    type: "line",
    source: SOURCES.area,
    paint: { "line-color": "#2563eb", "line-width": 1.5, "line-opacity": 0.6, "line-dasharray": [3, 2] },
  });
  // road geometry (solid) and straight stand-ins (dashed) until the API sends polylines
  map.addLayer({
    id: "routes-road",
    type: "line",
    source: SOURCES.routes,
    filter: ["==", ["get", "routed"], true],
    layout: { "line-cap": "round", "line-join": "round" },
    paint: { "line-color": ["get", "colour"], "line-width": 3.5, "line-opacity": 0.85 },
  });
  map.addLayer({
    id: "routes-straight",
    type: "line",
    source: SOURCES.routes,
    filter: ["!=", ["get", "routed"], true],
    layout: { "line-cap": "round" },
    paint: { "line-color": ["get", "colour"], "line-width": 2.5, "line-opacity": 0.8, "line-dasharray": [2, 1.5] },
  });
  map.addLayer({
    id: "pharmacies-dot",
    type: "circle",
    source: SOURCES.pharmacies,
    paint: {
      "circle-radius": ["interpolate", ["linear"], ["zoom"], 9, 4, 14, 7],
      "circle-color": "#0f766e",
      "circle-stroke-color": "#ffffff",
      "circle-stroke-width": 2,
    },
  });
  map.addLayer({
    id: "pharmacies-label",
    type: "symbol",
    source: SOURCES.pharmacies,
    minzoom: 14,
    layout: {
      "text-field": ["get", "name"],
      "text-font": LABEL_FONT,
      "text-size": 11,
      "text-offset": [0, 1.1],
      "text-anchor": "top",
      "text-optional": true,
    },
    paint: { "text-color": "#0f766e", "text-halo-color": "#ffffff", "text-halo-width": 1.4 },
  });
  map.addLayer({
    id: "orders-cluster",
    type: "circle",
    source: SOURCES.orders,
    filter: ["has", "point_count"],
    paint: {
      "circle-color": ["case", [">", ["get", "unassigned"], 0], "#475569", "#334155"],
      "circle-opacity": 0.9,
      "circle-radius": ["step", ["get", "point_count"], 13, 10, 17, 50, 22],
      "circle-stroke-color": ["case", [">", ["get", "late"], 0], LATE_COLOUR, "#ffffff"],
      "circle-stroke-width": ["case", [">", ["get", "late"], 0], 3, 2],
    },
  });
  map.addLayer({
    id: "orders-cluster-count",
    type: "symbol",
    source: SOURCES.orders,
    filter: ["has", "point_count"],
    layout: {
      "text-field": ["get", "point_count_abbreviated"],
      "text-font": LABEL_FONT,
      "text-size": 12,
      "text-allow-overlap": true,
    },
    paint: { "text-color": "#ffffff" },
  });
  map.addLayer({
    id: "orders-point",
    type: "circle",
    source: SOURCES.orders,
    filter: ["!", ["has", "point_count"]],
    paint: {
      "circle-color": statusColourExpression() as never,
      "circle-radius": ["case", ["boolean", ["get", "selected"], false], 9, 6],
      "circle-stroke-color": ["case", ["get", "late"], LATE_COLOUR, "#ffffff"],
      "circle-stroke-width": ["case", ["get", "late"], 3, 1.5],
    },
  });
  map.addLayer({
    id: "stops-dot",
    type: "circle",
    source: SOURCES.stops,
    paint: {
      "circle-radius": 8,
      "circle-color": "#ffffff",
      "circle-stroke-color": ["get", "colour"],
      "circle-stroke-width": 2.5,
    },
  });
  map.addLayer({
    id: "stops-number",
    type: "symbol",
    source: SOURCES.stops,
    layout: {
      "text-field": ["to-string", ["get", "n"]],
      "text-font": LABEL_FONT,
      "text-size": 11,
      "text-allow-overlap": true,
      "text-ignore-placement": true,
    },
    paint: { "text-color": "#111827" },
  });
  map.addLayer({
    id: "stops-eta",
    type: "symbol",
    source: SOURCES.stops,
    minzoom: 12.5,
    filter: ["!=", ["get", "eta"], ""],
    layout: {
      "text-field": ["get", "eta"],
      "text-font": LABEL_FONT,
      "text-size": 11,
      "text-offset": [1.1, 0],
      "text-anchor": "left",
      "text-optional": true,
    },
    paint: {
      "text-color": ["case", ["get", "late"], "#b45309", "#111827"],
      "text-halo-color": "#ffffff",
      "text-halo-width": 1.4,
    },
  });
}

/** Re-colour the overlay's labels for a theme. */
export function overlayTheme(map: MapLibreMap, dark: boolean): void {
  const text = dark ? "#e6edf3" : "#111827";
  const halo = dark ? "#0d1117" : "#ffffff";
  if (map.getLayer("stops-eta")) {
    map.setPaintProperty("stops-eta", "text-color", ["case", ["get", "late"], dark ? "#fbbf24" : "#b45309", text]);
    map.setPaintProperty("stops-eta", "text-halo-color", halo);
  }
  if (map.getLayer("pharmacies-label")) {
    map.setPaintProperty("pharmacies-label", "text-color", dark ? "#5eead4" : "#0f766e");
    map.setPaintProperty("pharmacies-label", "text-halo-color", halo);
  }
}

/** Batches setData calls: the latest data per source, flushed on the next frame. */
export class SourceWriter {
  private pending = new Map<SourceId, FeatureCollection>();
  private frame = 0;
  /** What each source was last given (the browser tests read it). */
  readonly current = new Map<SourceId, FeatureCollection>();

  constructor(private readonly map: MapLibreMap) {}

  set(id: SourceId, data: FeatureCollection): void {
    // empty again: nothing to redraw (every setData costs the map a new frame,
    // a WebGL render read back by the compositor: ~150 ms on a loaded host)
    if (data.features.length === 0 && !this.pending.has(id) && this.current.get(id)?.features.length === 0) return;
    this.pending.set(id, data);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  flush(): void {
    this.frame = 0;
    for (const [id, data] of this.pending) {
      const source = this.map.getSource(id) as GeoJSONSource | undefined;
      if (!source) continue; // style not ready: kept for the next flush
      liveProbe()?.flushing(id);
      void source.setData(data);
      this.current.set(id, data);
      this.pending.delete(id);
    }
  }
}

export function featureCollection<G extends Geometry, P>(features: Feature<G, P>[]): FeatureCollection<G, P> {
  return { type: "FeatureCollection", features };
}

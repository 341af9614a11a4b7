// The route on a map: the roads of each leg, numbered stops, and the rider's
// own position. Drawn only when the rider opens the Map tab (WebGL is costly
// on a phone); the basemap is the bundled offline one unless a style URL is set.
import "maplibre-gl/dist/maplibre-gl.css";
import { effect } from "@preact/signals";
import type { Feature, LineString, Point } from "geojson";
import { AttributionControl, type GeoJSONSource, LngLatBounds, Map as MapLibreMap, NavigationControl, addProtocol, setWorkerUrl } from "maplibre-gl";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url";
import { Protocol } from "pmtiles";
import { useEffect, useRef } from "preact/hooks";
import { api } from "../api/client";
import type { UiConfigRead } from "../api/types";
import { featureCollection } from "../map/overlay";
import { decodePolyline, type LonLat } from "../map/polyline";
import { BASEMAP_URL, bundledStyle } from "../map/style";
import { theme } from "../shared/theme";
import { location, route, type RiderRoute } from "./app";

setWorkerUrl(workerUrl);
addProtocol("pmtiles", new Protocol().tile);

const MALTA: LonLat = [14.45, 35.9];

function legLines(value: RiderRoute): Feature<LineString>[] {
  const places = new Map(value.stops.map((s) => [s.stop_id, [s.location.lon, s.location.lat] as LonLat]));
  const lines: Feature<LineString>[] = [];
  for (const leg of value.legs ?? []) {
    const to = places.get(leg.to_stop_id);
    const from = leg.from_stop_id ? places.get(leg.from_stop_id) : undefined;
    let coordinates: LonLat[] = [];
    try {
      coordinates = leg.polyline ? decodePolyline(leg.polyline) : [];
    } catch {
      coordinates = [];
    }
    if (coordinates.length < 2 && from && to) coordinates = [from, to];
    if (coordinates.length >= 2) lines.push({ type: "Feature", geometry: { type: "LineString", coordinates }, properties: {} });
  }
  return lines;
}

function stopPoints(value: RiderRoute): Feature<Point>[] {
  return value.stops.map((s, i) => ({
    type: "Feature",
    geometry: { type: "Point", coordinates: [s.location.lon, s.location.lat] },
    properties: { label: String(i + 1), kind: s.kind },
  }));
}

export function RiderMap() {
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    let map: MapLibreMap | null = null;
    const disposers: (() => void)[] = [];
    let cancelled = false;
    void api<UiConfigRead>("/ui/config", { auth: false })
      .catch(() => null)
      .then((cfg) => {
        if (cancelled) return;
        const style = cfg?.map.style_url ?? bundledStyle(theme.value, window.location.origin + BASEMAP_URL);
        map = new MapLibreMap({ container: element, style, center: MALTA, zoom: 11, attributionControl: false, maxPitch: 0, dragRotate: false });
        map.addControl(new NavigationControl({ showCompass: false }), "top-right");
        map.addControl(new AttributionControl({ compact: true }), "bottom-right");
        map.touchZoomRotate.disableRotation();
        const m = map;
        m.on("load", () => {
          m.addSource("legs", { type: "geojson", data: featureCollection([]) });
          m.addSource("stops", { type: "geojson", data: featureCollection([]) });
          m.addSource("me", { type: "geojson", data: featureCollection([]) });
          m.addLayer({ id: "legs", type: "line", source: "legs", paint: { "line-color": "#1d4ed8", "line-width": 4, "line-opacity": 0.8 } });
          m.addLayer({
            id: "stops",
            type: "circle",
            source: "stops",
            paint: {
              "circle-radius": 11,
              "circle-color": ["match", ["get", "kind"], "pickup", "#7c3aed", "#0f766e"],
              "circle-stroke-color": "#ffffff",
              "circle-stroke-width": 2,
            },
          });
          m.addLayer({
            id: "stops-label",
            type: "symbol",
            source: "stops",
            layout: { "text-field": ["get", "label"], "text-font": ["Noto Sans Regular"], "text-size": 12 },
            paint: { "text-color": "#ffffff" },
          });
          // the rider's dot under the stops: standing at a stop, its number stays readable
          m.addLayer(
            {
              id: "me",
              type: "circle",
              source: "me",
              paint: { "circle-radius": 15, "circle-color": "#2563eb", "circle-opacity": 0.35, "circle-stroke-color": "#2563eb", "circle-stroke-width": 2 },
            },
            "stops",
          );
          let fitted = false;
          disposers.push(
            effect(() => {
              const value = route.value;
              if (!value) return;
              (m.getSource("legs") as GeoJSONSource).setData(featureCollection(legLines(value)));
              (m.getSource("stops") as GeoJSONSource).setData(featureCollection(stopPoints(value)));
              if (!fitted && value.stops.length > 0) {
                const bounds = new LngLatBounds();
                for (const s of value.stops) bounds.extend([s.location.lon, s.location.lat]);
                const here = location.value;
                if (here.state === "on") bounds.extend([here.fix.lon, here.fix.lat]);
                m.fitBounds(bounds, { padding: 48, maxZoom: 15, duration: 0 });
                fitted = true;
              }
            }),
            effect(() => {
              const here = location.value;
              const points: Feature<Point>[] =
                here.state === "on" ? [{ type: "Feature", geometry: { type: "Point", coordinates: [here.fix.lon, here.fix.lat] }, properties: {} }] : [];
              (m.getSource("me") as GeoJSONSource).setData(featureCollection(points));
            }),
          );
          element.dataset.ready = "true";
        });
      });
    return () => {
      cancelled = true;
      disposers.forEach((d) => d());
      map?.remove();
    };
  }, []);
  return <div ref={container} class="rider-map" data-testid="rider-map" role="region" aria-label="Route map" />;
}

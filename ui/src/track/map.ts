// The patient's map, loaded by a dynamic import() only where WebGL works: the
// basemap (bundled offline or API_MAP_STYLE_URL) and one point, the rider,
// drawn only while the page says so (on the way to this patient).
import "maplibre-gl/dist/maplibre-gl.css";
import type { FeatureCollection } from "geojson";
import {
  AttributionControl,
  Map as MapLibreMap,
  NavigationControl,
  addProtocol,
  setWorkerUrl,
  type GeoJSONSource,
  type StyleSpecification,
} from "maplibre-gl";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url";
import { Protocol } from "pmtiles";
import { BASEMAP_URL, applyBasemapTheme, bundledStyle } from "../map/style";
import type { Theme } from "../shared/theme";
import type { LatLon } from "./view";

setWorkerUrl(workerUrl);
addProtocol("pmtiles", new Protocol().tile);

const RIDER_SOURCE = "rxd-track-rider";
const MALTA: [number, number] = [14.43, 35.92];
const EMPTY: FeatureCollection = { type: "FeatureCollection", features: [] };
/** The rider's dot: the page's accent colour, lighter on the dark basemap. */
const RIDER_COLOUR: Record<Theme, string> = { light: "#1d4ed8", dark: "#60a5fa" };

export interface TrackMapOptions {
  styleUrl: string | null;
  bbox: [number, number, number, number] | null;
  theme: Theme;
  riderLabel: string;
  onReady(): void;
}

export interface TrackMap {
  setRider(point: LatLon | null): void;
  setTheme(theme: Theme): void;
  /** The rider point last handed to the map (the browser tests read it). */
  rider(): LatLon | null;
  remove(): void;
}

export function createTrackMap(container: HTMLElement, options: TrackMapOptions): TrackMap {
  const style: StyleSpecification | string =
    options.styleUrl ?? bundledStyle(options.theme, `${window.location.origin}${BASEMAP_URL}`);
  const map = new MapLibreMap({
    container,
    style,
    center: MALTA,
    zoom: 10,
    attributionControl: false,
    maxPitch: 0,
    dragRotate: false,
    fadeDuration: 0,
    cooperativeGestures: true,
  });
  map.addControl(new NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new AttributionControl({ compact: true }), "bottom-right");
  map.touchZoomRotate.disableRotation();
  if (options.bbox) {
    const [west, south, east, north] = options.bbox;
    map.fitBounds(
      [
        [west, south],
        [east, north],
      ],
      { padding: 16, duration: 0 },
    );
  }
  map.getCanvas().setAttribute("aria-label", options.riderLabel);

  let current: LatLon | null = null;
  let loaded = false;

  const draw = (): void => {
    if (!loaded) return;
    const source = map.getSource(RIDER_SOURCE) as GeoJSONSource | undefined;
    source?.setData(
      current
        ? {
            type: "FeatureCollection",
            features: [
              {
                type: "Feature",
                geometry: { type: "Point", coordinates: [current.lon, current.lat] },
                properties: {},
              },
            ],
          }
        : EMPTY,
    );
    if (current) map.easeTo({ center: [current.lon, current.lat], zoom: Math.max(map.getZoom(), 14), duration: 400 });
  };

  map.on("load", () => {
    map.addSource(RIDER_SOURCE, { type: "geojson", data: EMPTY });
    map.addLayer({
      id: "rider-halo",
      type: "circle",
      source: RIDER_SOURCE,
      paint: { "circle-radius": 16, "circle-color": RIDER_COLOUR[options.theme], "circle-opacity": 0.25 },
    });
    map.addLayer({
      id: "rider-dot",
      type: "circle",
      source: RIDER_SOURCE,
      paint: {
        "circle-radius": 8,
        "circle-color": RIDER_COLOUR[options.theme],
        "circle-stroke-width": 3,
        "circle-stroke-color": "#ffffff",
      },
    });
    loaded = true;
    draw();
    options.onReady();
  });

  return {
    setRider(point) {
      const same = point && current && point.lat === current.lat && point.lon === current.lon;
      if (same || (point === null && current === null)) return;
      current = point;
      draw();
    },
    setTheme(theme) {
      if (!options.styleUrl) applyBasemapTheme(map, theme);
      if (!loaded) return;
      map.setPaintProperty("rider-halo", "circle-color", RIDER_COLOUR[theme]);
      map.setPaintProperty("rider-dot", "circle-color", RIDER_COLOUR[theme]);
    },
    rider: () => current,
    remove: () => map.remove(),
  };
}

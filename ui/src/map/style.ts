// The bundled basemap style: our own layers over the PMTiles file that
// scripts/build_basemap.py writes (source-layers land, water, park, building,
// road, place). No `glyphs` URL: MapLibre draws labels with the page's own
// font (Noto Sans, served by us), so not one request leaves the origin.
import type { StyleSpecification } from "maplibre-gl";
import type { Theme } from "../shared/theme";

export const BASEMAP_SOURCE = "basemap";
export const BASEMAP_URL = "/ui/map/basemap.pmtiles";
export const LABEL_FONT = ["Noto Sans Regular"];

interface Palette {
  sea: string;
  land: string;
  park: string;
  building: string;
  roadMinor: string;
  roadMajor: string;
  casing: string;
  label: string;
  halo: string;
}

const PALETTES: Record<Theme, Palette> = {
  light: {
    sea: "#c6dbe8",
    land: "#f3f0ea",
    park: "#d8e8cc",
    building: "#e2dcd2",
    roadMinor: "#ffffff",
    roadMajor: "#f8e2ad",
    casing: "#d3cbbd",
    label: "#4b5563",
    halo: "#ffffff",
  },
  dark: {
    sea: "#0e1a27",
    land: "#1c222c",
    park: "#1b2e24",
    building: "#282f3b",
    roadMinor: "#323a48",
    roadMajor: "#4a5365",
    casing: "#12161d",
    label: "#c4cdd9",
    halo: "#0f1319",
  },
};

const MAJOR = ["motorway", "primary", "secondary"];

type Paint = Record<string, unknown>;

/** The paint of each basemap layer for a theme (the dark switch re-applies it). */
export function basemapPaint(theme: Theme): Record<string, Paint> {
  const p = PALETTES[theme];
  const isMajor = ["in", ["get", "class"], ["literal", MAJOR]];
  return {
    background: { "background-color": p.sea },
    land: { "fill-color": p.land },
    park: { "fill-color": p.park },
    water: { "fill-color": p.sea },
    building: { "fill-color": p.building },
    "road-casing": { "line-color": p.casing },
    road: { "line-color": ["case", isMajor, p.roadMajor, p.roadMinor] },
    "road-label": { "text-color": p.label, "text-halo-color": p.halo },
    "place-label": { "text-color": p.label, "text-halo-color": p.halo },
  };
}

const roadWidth = (scale: number): unknown => [
  "interpolate",
  ["exponential", 1.6],
  ["zoom"],
  8,
  ["match", ["get", "class"], "motorway", 1.2 * scale, "primary", 0.9 * scale, 0.4 * scale],
  14,
  ["match", ["get", "class"], "motorway", 7 * scale, "primary", 6 * scale, "secondary", 5 * scale, "tertiary", 4.5 * scale, "service", 1.5 * scale, 3.5 * scale],
  17,
  ["match", ["get", "class"], "motorway", 20 * scale, "primary", 18 * scale, "service", 6 * scale, 14 * scale],
];

/** The whole bundled style; `tilesUrl` is absolute (pmtiles:// + this origin). */
export function bundledStyle(theme: Theme, tilesUrl: string): StyleSpecification {
  const paint = basemapPaint(theme);
  const src = { source: BASEMAP_SOURCE };
  return {
    version: 8,
    name: "rxdispatch offline",
    metadata: { "rxdispatch:bundled": true },
    sources: {
      [BASEMAP_SOURCE]: {
        type: "vector",
        url: `pmtiles://${tilesUrl}`,
        attribution: "© OpenStreetMap contributors",
      },
    },
    layers: [
      { id: "background", type: "background", paint: paint.background },
      { id: "land", type: "fill", ...src, "source-layer": "land", paint: paint.land },
      { id: "park", type: "fill", ...src, "source-layer": "park", paint: { ...paint.park, "fill-opacity": 0.9 } },
      { id: "water", type: "fill", ...src, "source-layer": "water", paint: paint.water },
      {
        id: "building",
        type: "fill",
        ...src,
        "source-layer": "building",
        minzoom: 13,
        paint: { ...paint.building, "fill-opacity": ["interpolate", ["linear"], ["zoom"], 13, 0, 14, 1] },
      },
      {
        id: "road-casing",
        type: "line",
        ...src,
        "source-layer": "road",
        layout: { "line-cap": "round", "line-join": "round" },
        paint: { ...paint["road-casing"], "line-width": roadWidth(1.35) },
      },
      {
        id: "road",
        type: "line",
        ...src,
        "source-layer": "road",
        layout: { "line-cap": "round", "line-join": "round" },
        paint: { ...paint.road, "line-width": roadWidth(1) },
      },
      {
        id: "road-label",
        type: "symbol",
        ...src,
        "source-layer": "road",
        minzoom: 15,
        filter: ["has", "name"],
        layout: {
          "symbol-placement": "line",
          "text-field": ["get", "name"],
          "text-font": LABEL_FONT,
          "text-size": 11,
        },
        paint: { ...paint["road-label"], "text-halo-width": 1.2 },
      },
      {
        id: "place-label",
        type: "symbol",
        ...src,
        "source-layer": "place",
        layout: {
          "text-field": ["get", "name"],
          "text-font": LABEL_FONT,
          "text-size": ["match", ["get", "class"], "city", 15, "town", 13, 12],
          "text-max-width": 8,
        },
        paint: { ...paint["place-label"], "text-halo-width": 1.5 },
      },
    ] as StyleSpecification["layers"],
  };
}

/** Re-colour a bundled basemap in place (no reload; our overlays stay). */
export function applyBasemapTheme(
  map: { getLayer(id: string): unknown; setPaintProperty(id: string, name: string, value: unknown): void },
  theme: Theme,
): void {
  for (const [layer, props] of Object.entries(basemapPaint(theme))) {
    if (!map.getLayer(layer)) continue;
    for (const [name, value] of Object.entries(props)) map.setPaintProperty(layer, name, value);
  }
}

// The riders on the map as DOM markers moved in place. A rider's fix changes
// one element's transform: the compositor moves it, and the map's WebGL canvas
// is not drawn again. (A GeoJSON source of riders redrew the whole map on every
// positions frame, and under SwiftShader every map frame is read back by the
// compositor: ~150-200 ms of the main thread per frame on a loaded host.)
import type { Feature, FeatureCollection, Point } from "geojson";
import { Marker, type Map as MapLibreMap } from "maplibre-gl";

/** From this zoom the riders' heading arrows show; from NAMES_ZOOM every name. */
export const HEADING_ZOOM = 13;
export const NAMES_ZOOM = 14;

/** What a rider's marker shows (a rider feature's properties). */
export interface RiderMark {
  id: string;
  name: string;
  colour: string;
  stale: boolean;
  highlight: boolean;
  heading?: number;
  temp?: string;
  warm?: boolean;
}

/** Which of a rider's marks show at `zoom` (arrow, temperature, name). */
export function visibleMarks(mark: RiderMark, zoom: number): { heading: number | null; temp: string | null; name: string | null } {
  return {
    heading: zoom >= HEADING_ZOOM && mark.heading != null ? mark.heading : null,
    temp: mark.temp ?? null,
    name: mark.highlight || zoom >= NAMES_ZOOM ? mark.name : null,
  };
}

interface Entry {
  marker: Marker;
  dot: HTMLElement;
  arrow: HTMLElement;
  temp: HTMLElement;
  name: HTMLElement;
  lon: number;
  lat: number;
  shown: string;
}

function part(parent: HTMLElement, cls: string): HTMLElement {
  const el = document.createElement("span");
  el.className = cls;
  parent.appendChild(el);
  return el;
}

export class RiderMarkers {
  private entries = new Map<string, Entry>();
  /** What the markers show now (the browser tests read it). */
  current: FeatureCollection<Point> = { type: "FeatureCollection", features: [] };

  constructor(
    private readonly map: MapLibreMap,
    private readonly onSelect: (id: string) => void,
  ) {}

  update(features: readonly Feature<Point>[]): void {
    const zoom = this.map.getZoom();
    const seen = new Set<string>();
    for (const feature of features) {
      const mark = feature.properties as RiderMark;
      const [lon, lat] = feature.geometry.coordinates as [number, number];
      seen.add(mark.id);
      let entry = this.entries.get(mark.id);
      if (!entry) {
        entry = this.create(mark.id, lon, lat);
        this.entries.set(mark.id, entry);
      } else if (entry.lon !== lon || entry.lat !== lat) {
        entry.marker.setLngLat([lon, lat]);
        entry.lon = lon;
        entry.lat = lat;
      }
      const shows = visibleMarks(mark, zoom);
      const key = `${mark.name}|${mark.colour}|${mark.stale}|${mark.highlight}|${shows.heading}|${shows.temp}|${mark.warm}|${shows.name}`;
      if (key !== entry.shown) {
        entry.shown = key;
        this.paint(entry, mark, shows);
      }
    }
    for (const [id, entry] of this.entries) {
      if (seen.has(id)) continue;
      entry.marker.remove();
      this.entries.delete(id);
    }
    this.current = { type: "FeatureCollection", features: [...features] };
  }

  remove(): void {
    for (const entry of this.entries.values()) entry.marker.remove();
    this.entries.clear();
  }

  private create(id: string, lon: number, lat: number): Entry {
    const element = document.createElement("div");
    element.className = "rider-marker";
    element.dataset.riderId = id;
    // a picture with a name; the riders panel is the keyboard's way to a rider
    element.setAttribute("role", "img");
    const dot = part(element, "rider-dot");
    const arrow = part(dot, "rider-arrow");
    const temp = part(element, "rider-temp");
    const name = part(element, "rider-name");
    element.addEventListener("click", (event) => {
      event.stopPropagation();
      this.onSelect(id);
    });
    const marker = new Marker({ element, anchor: "center" }).setLngLat([lon, lat]).addTo(this.map);
    return { marker, dot, arrow, temp, name, lon, lat, shown: "" };
  }

  private paint(entry: Entry, mark: RiderMark, shows: ReturnType<typeof visibleMarks>): void {
    const element = entry.marker.getElement();
    element.classList.toggle("stale", mark.stale);
    element.classList.toggle("highlight", mark.highlight);
    element.setAttribute("aria-label", `Rider ${mark.name}${mark.stale ? " (stale fix)" : ""}`);
    element.title = mark.name;
    entry.dot.style.background = mark.stale ? "" : mark.colour;
    element.style.setProperty("--rider-colour", mark.colour);
    entry.arrow.hidden = shows.heading == null;
    if (shows.heading != null) entry.arrow.style.transform = `rotate(${shows.heading}deg)`;
    entry.temp.hidden = shows.temp == null;
    entry.temp.textContent = shows.temp ?? "";
    entry.temp.classList.toggle("warm", mark.warm === true);
    entry.name.hidden = shows.name == null;
    entry.name.textContent = shows.name ?? "";
  }
}

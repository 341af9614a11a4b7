// The live map: basemap (bundled offline, or API_MAP_STYLE_URL), then our
// layers fed from the store through one batched writer.
import "maplibre-gl/dist/maplibre-gl.css";
import { effect } from "@preact/signals";
import type { Feature, LineString, Point } from "geojson";
import {
  AttributionControl,
  LngLatBounds,
  Map as MapLibreMap,
  NavigationControl,
  ScaleControl,
  addProtocol,
  setWorkerUrl,
  type GeoJSONSource,
  type MapLayerMouseEvent,
} from "maplibre-gl";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url";
import { Protocol } from "pmtiles";
import { useEffect, useRef } from "preact/hooks";
import type { Order } from "../api/types";
import { isStale } from "../domain/riders";
import { isTerminal, statusKey } from "../domain/status";
import { INTERACTIVE_LAYERS, SOURCES, SourceWriter, addOverlay, featureCollection, overlayTheme } from "../map/overlay";
import { HEADING_ZOOM, NAMES_ZOOM, RiderMarkers } from "../map/riderMarkers";
import { liveProbe } from "../live/probe";
import { routeFeatures, stopFeatures, type RouteContext } from "../map/routes";
import { formatClock } from "../domain/format";
import { BASEMAP_URL, applyBasemapTheme, bundledStyle } from "../map/style";
import { theme } from "../shared/theme";
import { setPositionsListener } from "./sync";
import {
  config,
  etas,
  followRider,
  liveFixes,
  orders,
  pharmacies,
  plan,
  riderBoxes,
  riderColour,
  riderViews,
  selectedOrder,
  selectedRider,
  tab,
  tick,
  visibleOrders,
} from "./store";

setWorkerUrl(workerUrl);
const pmtiles = new Protocol();
addProtocol("pmtiles", pmtiles.tile);

const MALTA: [number, number] = [14.43, 35.92];

/** What the page's other parts (and the browser tests) may ask of the map. */
export interface MapController {
  map: MapLibreMap;
  writer: SourceWriter;
  riders: RiderMarkers;
  ready: boolean;
  fitAll(): void;
  flyTo(lon: number, lat: number, zoom?: number): void;
}

declare global {
  interface Window {
    rxdMap?: MapController;
  }
}

export let mapController: MapController | null = null;

function orderPoint(o: Order): [number, number] {
  return [o.delivery_location.lon, o.delivery_location.lat];
}

function riderFeatures(): Feature<Point>[] {
  const highlighted = new Set([selectedRider.value, followRider.value].filter(Boolean));
  return riderViews()
    .filter((v) => v.lat != null && v.lon != null)
    .map((v) => {
      const heading = liveFixes.get(v.rider.id)?.heading_deg;
      const box = riderBoxes.value.get(v.rider.id);
      return {
        type: "Feature",
        id: v.rider.id,
        geometry: { type: "Point", coordinates: [v.lon as number, v.lat as number] },
        properties: {
          id: v.rider.id,
          name: v.rider.name,
          colour: v.colour,
          stale: isStale(v.ageMs),
          highlight: highlighted.has(v.rider.id),
          ...(heading != null ? { heading } : {}),
          // the box's newest temperature under the marker, red out of range
          ...(box?.temp_c != null ? { temp: `${box.temp_c.toFixed(1)}°`, warm: box.in_range === false } : {}),
        },
      };
    });
}

function orderFeatures(): Feature<Point>[] {
  const selected = selectedOrder.value;
  return visibleOrders.value.map((v) => ({
    type: "Feature",
    geometry: { type: "Point", coordinates: orderPoint(v.order) },
    properties: {
      id: v.order.id,
      status: v.status,
      late: v.late.state !== "on_time",
      selected: v.order.id === selected,
    },
  }));
}

function routeContext(): RouteContext {
  const byId = new Map(pharmacies.value.map((p) => [p.id, p]));
  const all = orders.value;
  const positions = new Map(riderViews().map((v) => [v.rider.id, v]));
  return {
    riderPosition(id) {
      const fix = liveFixes.get(id) ?? positions.get(id);
      return fix && fix.lat != null && fix.lon != null ? { lat: fix.lat, lon: fix.lon } : null;
    },
    stopPlace(stop) {
      const order = all.get(stop.order_id);
      if (stop.kind === "pickup") {
        const pharmacy = byId.get(stop.pharmacy_id ?? order?.pharmacy_id ?? "");
        return pharmacy ? pharmacy.location : null;
      }
      return order ? order.delivery_location : null;
    },
    stopPending(stop) {
      const order = all.get(stop.order_id);
      if (!order) return true;
      const key = statusKey(order.status);
      if (isTerminal(key)) return false;
      return !(stop.kind === "pickup" && key === "picked_up");
    },
    riderColour: (id) => riderColour.value.get(id) ?? "#64748b",
  };
}

function routeLines(): Feature<LineString>[] {
  return routeFeatures(plan.value, routeContext()).features;
}

function stopPoints(): Feature<Point>[] {
  const live = etas.value;
  return stopFeatures(plan.value, routeContext(), (id) => live.get(id) ?? null, (iso) => formatClock(iso)).features;
}

function boundsOfEverything(): LngLatBounds | null {
  const bounds = new LngLatBounds();
  let any = false;
  const add = (lon: number, lat: number) => {
    bounds.extend([lon, lat]);
    any = true;
  };
  for (const v of riderViews()) if (v.lon != null && v.lat != null) add(v.lon, v.lat);
  for (const v of visibleOrders.value) if (!isTerminal(v.status)) add(...orderPoint(v.order));
  for (const p of pharmacies.value) add(p.location.lon, p.location.lat);
  return any ? bounds : null;
}

export function MapView() {
  const container = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const element = container.current;
    const cfg = config.value;
    if (!element || !cfg) return;
    const bundled = !cfg.map_style_url;
    const style = cfg.map_style_url ?? bundledStyle(theme.value, window.location.origin + BASEMAP_URL);
    const map = new MapLibreMap({
      container: element,
      style,
      center: MALTA,
      zoom: 10.3,
      attributionControl: false,
      maxPitch: 0,
      dragRotate: false,
      fadeDuration: 0,
    });
    map.addControl(new NavigationControl({ showCompass: false }), "top-right");
    map.addControl(new ScaleControl({ unit: "metric" }), "bottom-right");
    map.addControl(new AttributionControl({ compact: true }), "bottom-right");
    map.touchZoomRotate.disableRotation();
    const writer = new SourceWriter(map);
    const markers = new RiderMarkers(map, (id) => {
      selectedRider.value = id;
      tab.value = "riders";
    });
    const controller: MapController = {
      map,
      writer,
      riders: markers,
      ready: false,
      fitAll() {
        const bounds = boundsOfEverything();
        if (bounds) map.fitBounds(bounds, { padding: 60, maxZoom: 15, duration: 500 });
      },
      flyTo(lon, lat, zoom) {
        map.easeTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), zoom ?? 14), duration: 500 });
      },
    };
    mapController = controller;
    window.rxdMap = controller;

    // the route lines' first legs start at the riders: redrawn with them, but at
    // most once a second (a plan or order change redraws them at once)
    let routesAt = 0;
    const pushRiders = (routesNow = true) => {
      markers.update(riderFeatures());
      liveProbe()?.moved();
      const now = performance.now();
      if (routesNow || now - routesAt >= 1000) {
        routesAt = now;
        writer.set(SOURCES.routes, featureCollection(routeLines()));
      }
      const followed = followRider.value;
      if (followed) {
        const fix = riderViews().find((v) => v.rider.id === followed);
        if (fix?.lon != null && fix.lat != null) map.easeTo({ center: [fix.lon, fix.lat], duration: 300 });
      }
    };
    // positions frames come many times a second: move the riders' markers at
    // most once per animation frame, not once per frame received
    let ridersFrame = 0;
    const pushRidersSoon = () => {
      if (ridersFrame) return;
      ridersFrame = requestAnimationFrame(() => {
        ridersFrame = 0;
        pushRiders(false);
      });
    };
    const disposers: (() => void)[] = [];
    let ordersKey: string | null = null;
    let fitted = false;

    // crossing a zoom where arrows or names appear or go: the marks again
    const markZoom = () => (map.getZoom() >= NAMES_ZOOM ? 2 : map.getZoom() >= HEADING_ZOOM ? 1 : 0);
    let marksAtZoom = markZoom();
    map.on("zoom", () => {
      const now = markZoom();
      if (now === marksAtZoom) return;
      marksAtZoom = now;
      pushRidersSoon();
    });

    map.on("load", () => {
      addOverlay(map);
      overlayTheme(map, theme.value === "dark");
      setPositionsListener(pushRidersSoon);
      disposers.push(
        effect(() => {
          // the list's views are rebuilt every tick (ages, lateness): hand the
          // clustered source new data only when what it draws changed
          const features = orderFeatures();
          const key = features
            .map((f) => `${f.properties?.id}|${f.properties?.status}|${f.properties?.late}|${f.properties?.selected}`)
            .join(";");
          if (key === ordersKey) return;
          ordersKey = key;
          writer.set(SOURCES.orders, featureCollection(features));
        }),
        effect(() => writer.set(SOURCES.stops, featureCollection(stopPoints()))),
        effect(() => {
          void tick.value; // staleness ages with time
          void selectedRider.value;
          void followRider.value;
          void plan.value;
          void orders.value;
          void riderBoxes.value;
          pushRiders();
        }),
        effect(() =>
          writer.set(
            SOURCES.pharmacies,
            featureCollection(
              pharmacies.value.map((p) => ({
                type: "Feature" as const,
                geometry: { type: "Point" as const, coordinates: [p.location.lon, p.location.lat] },
                properties: { id: p.id, name: p.name },
              })),
            ),
          ),
        ),
        effect(() => {
          const area = config.value?.service_area;
          writer.set(
            SOURCES.area,
            featureCollection(area ? [{ type: "Feature", geometry: area, properties: {} }] : []),
          );
        }),
        effect(() => {
          const dark = theme.value === "dark";
          if (bundled) applyBasemapTheme(map, theme.value);
          overlayTheme(map, dark);
        }),
        effect(() => {
          // the first time there is something to show, show all of it
          if (fitted || (orders.value.size === 0 && pharmacies.value.length === 0)) return;
          fitted = true;
          controller.fitAll();
        }),
      );
      writer.flush();
      // drawn once the basemap's tiles are in: neither "idle" nor areTilesLoaded(),
      // which riders' sources, updated every frame under a live feed, never let come
      const basemapSources = Object.keys(map.getStyle().sources).filter((id) => !id.startsWith("rxd-"));
      const markReady = () => {
        if (!basemapSources.every((id) => map.isSourceLoaded(id))) return;
        controller.ready = true;
        element.dataset.ready = "true";
        map.off("render", markReady);
      };
      map.on("render", markReady);
      map.triggerRepaint();
    });

    map.on("click", "orders-cluster", async (event: MapLayerMouseEvent) => {
      const feature = event.features?.[0];
      const clusterId = feature?.properties?.cluster_id as number | undefined;
      if (clusterId == null || feature?.geometry.type !== "Point") return;
      const source = map.getSource(SOURCES.orders) as GeoJSONSource;
      const zoom = await source.getClusterExpansionZoom(clusterId);
      map.easeTo({ center: feature.geometry.coordinates as [number, number], zoom, duration: 400 });
    });
    map.on("click", "orders-point", (event: MapLayerMouseEvent) => {
      const id = event.features?.[0]?.properties?.id as string | undefined;
      if (!id) return;
      selectedOrder.value = id;
      tab.value = "orders";
    });
    for (const layer of INTERACTIVE_LAYERS) {
      map.on("mouseenter", layer, () => (map.getCanvas().style.cursor = "pointer"));
      map.on("mouseleave", layer, () => (map.getCanvas().style.cursor = ""));
    }
    map.on("dragstart", () => {
      followRider.value = null; // panning by hand ends following
    });

    return () => {
      for (const dispose of disposers) dispose();
      cancelAnimationFrame(ridersFrame);
      markers.remove();
      setPositionsListener(() => undefined);
      mapController = null;
      delete window.rxdMap;
      map.remove();
    };
  }, [config.value?.map_style_url, config.value !== null]);

  return <div ref={container} class="map" role="region" aria-label="Live map" data-testid="map" />;
}

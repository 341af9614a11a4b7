// Names for the generated API schemas (src/api/openapi.ts is generated from
// tests/data/openapi.json by `npm run gen:api`; `make lint` fails when stale).
import type { components } from "./openapi";

type Schemas = components["schemas"];

export type Order = Schemas["OrderRead"];
export type OrderStatus = Schemas["OrderStatus"];
export type Rider = Schemas["RiderRead"];
export type RiderStatus = Schemas["RiderStatus"];
export type Pharmacy = Schemas["PharmacyRead"];
export type Plan = Schemas["PlanRead"];
export type PlannedRoute = Schemas["PlannedRouteRead"];
export type PlannedStop = Schemas["PlannedStopRead"];
export type Unservable = Schemas["UnservableRead"];
export type Problem = Schemas["Problem"];
export type TokenRead = Schemas["TokenRead"];
export type Role = Schemas["Role"];
export type Point = Schemas["Point"];
export type OrderPage = Schemas["Page_OrderRead_"];
export type ColdBox = Schemas["ColdBoxRead"];
export type RiderBox = Schemas["RiderBoxRead"];

/**
 * A planned stop with the geometry of the leg that reaches it: an encoded
 * polyline (Google polyline encoding, precision 5) once the API sends one.
 * Until then the leg is drawn as a straight segment.
 */
export type PlannedStopWithLeg = PlannedStop & { polyline?: string | null };
export type UiConfigRead = Schemas["UiConfigRead"];
export type HoldRead = Schemas["HoldRead"];
export type HoldDetail = Schemas["HoldDetail"];
export type HoldRejected = Schemas["HoldRejected"];
export type ExcursionRecord = Schemas["ExcursionRecord"];
export type BoxReadings = Schemas["BoxReadings"];
export type ColdBoxRead = Schemas["ColdBoxRead"];
export type AuditEntryRead = Schemas["AuditEntryRead"];

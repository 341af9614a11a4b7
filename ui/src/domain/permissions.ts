// What each staff role may do from the dispatcher's page. Mirrors the API's role
// checks (api/auth/access.py: DISPATCH, PHARMACY): the page shows only what the
// API would accept; the API still decides.
import type { Role } from "../api/types";

export type StaffAction = "cancel_order" | "place_hold" | "quarantine_box" | "clear_box" | "watch_live_map";

const ALLOWED: Readonly<Record<StaffAction, readonly string[]>> = {
  watch_live_map: ["admin", "dispatcher"],
  cancel_order: ["admin", "dispatcher"],
  place_hold: ["admin", "dispatcher", "pharmacist"],
  quarantine_box: ["admin", "dispatcher", "pharmacist"],
  clear_box: ["admin", "dispatcher", "pharmacist"],
};

export function may(role: Role | string, action: StaffAction): boolean {
  return ALLOWED[action].includes(role);
}

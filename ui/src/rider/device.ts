// The rider's device token: a long-lived credential a dispatcher issues for
// this phone (POST /riders/{id}/device-tokens). Kept in localStorage so the
// phone stays signed in across restarts; a demo link may carry it in the
// fragment (#device-token=...), which is read once and removed from the
// address bar. A 401 forgets it and shows sign-in with the reason.

export const DEVICE_KEY = "rxd.rider.device";
export const ROUTE_KEY = "rxd.rider.route";
/** Why the phone was signed out, kept so a reload (or a restart) still says it. */
export const SIGNED_OUT_KEY = "rxd.rider.signed-out";

/** The token a `#device-token=<token>` fragment carries, else null. */
export function tokenFromHash(hash: string): string | null {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const token = params.get("device-token")?.trim();
  return token ? token : null;
}

/** The fragment without the token (other parameters kept), "" when none is left. */
export function hashWithoutToken(hash: string): string {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  params.delete("device-token");
  const rest = params.toString();
  return rest ? `#${rest}` : "";
}

/** A plausible device token (what the form accepts before asking the server). */
export function looksLikeToken(text: string): boolean {
  return /^[A-Za-z0-9_.~-]{16,512}$/.test(text.trim());
}

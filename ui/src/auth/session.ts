// The signed-in staff user: kept in sessionStorage (this tab only, gone when
// it closes), never in localStorage or a cookie. An expired or revoked token
// sends the user back to sign-in with the reason shown there.
import type { Role } from "../api/types";

export const SESSION_KEY = "rxd.session";
export const LOGIN_PATH = "/ui/login/";

export interface Session {
  token: string;
  /** When the token expires (ISO 8601). */
  expiresAt: string;
  role: Role;
  username: string;
}

/** A stored session that is well-formed and not expired, else null. */
export function parseSession(raw: string | null, nowMs: number = Date.now()): Session | null {
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as Partial<Session>;
    if (
      typeof value.token !== "string" ||
      typeof value.expiresAt !== "string" ||
      typeof value.role !== "string" ||
      typeof value.username !== "string"
    ) {
      return null;
    }
    const expires = Date.parse(value.expiresAt);
    if (!Number.isFinite(expires) || expires <= nowMs) return null;
    return value as Session;
  } catch {
    return null;
  }
}

export function loadSession(): Session | null {
  return parseSession(sessionStorage.getItem(SESSION_KEY));
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(SESSION_KEY);
}

/** The sign-in page's URL, with why the user is there and where to go back. */
export function signInUrl(reason?: string, next?: string): string {
  const params = new URLSearchParams();
  if (reason) params.set("reason", reason);
  if (next && next.startsWith("/") && !next.startsWith("//")) params.set("next", next);
  const query = params.toString();
  return query ? `${LOGIN_PATH}?${query}` : LOGIN_PATH;
}

/** Where to go after signing in: a same-origin `next`, else the role's page. */
export function landingPage(role: Role, next: string | null): string {
  if (next && next.startsWith("/ui/") && !next.startsWith("//")) return next;
  return role === "pharmacist" ? "/ui/pharmacist/" : "/ui/dispatcher/";
}

let leaving = false;

/** Forget the session and go to sign-in (once, however many callers ask). */
export function signOut(reason?: string): void {
  if (leaving) return;
  leaving = true;
  clearSession();
  window.location.assign(signInUrl(reason, window.location.pathname + window.location.search));
}

/** The current session, or off to sign-in (returns null then). */
export function requireSession(): Session | null {
  const session = loadSession();
  if (session === null) {
    const hadOne = sessionStorage.getItem(SESSION_KEY) !== null;
    signOut(hadOne ? "Your session has expired. Please sign in again." : undefined);
  }
  return session;
}

/** Sign out when the token expires (until refresh tokens exist). */
export function watchExpiry(session: Session, onExpire: () => void): () => void {
  const delay = Date.parse(session.expiresAt) - Date.now();
  const timer = window.setTimeout(onExpire, Math.max(0, Math.min(delay, 2_147_483_000)));
  return () => window.clearTimeout(timer);
}

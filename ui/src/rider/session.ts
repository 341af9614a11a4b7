// The rider's side of the API: the device token as bearer, problem+json errors
// as ApiError (title shown), and a 401 that forgets the token and shows
// sign-in with the server's reason. The last route read is kept on the phone
// so the list still shows while offline.
import { signal } from "@preact/signals";
import { ApiError, problemOf } from "../api/client";
import { DEVICE_KEY, ROUTE_KEY, SIGNED_OUT_KEY } from "./device";

export const deviceToken = signal<string | null>(localStorage.getItem(DEVICE_KEY));
/** Why the rider is on the sign-in form (expired, revoked...); it outlives a
 * reload, since the sign-out may happen on a page about to be reloaded. */
export const signInReason = signal<string | null>(localStorage.getItem(SIGNED_OUT_KEY));

export function signIn(token: string): void {
  localStorage.setItem(DEVICE_KEY, token);
  localStorage.removeItem(SIGNED_OUT_KEY);
  signInReason.value = null;
  deviceToken.value = token;
}

/** Forget the token (and the route it showed); queued confirmations stay. */
export function signOut(reason: string | null): void {
  localStorage.removeItem(DEVICE_KEY);
  localStorage.removeItem(ROUTE_KEY);
  if (reason) localStorage.setItem(SIGNED_OUT_KEY, reason);
  else localStorage.removeItem(SIGNED_OUT_KEY);
  signInReason.value = reason;
  deviceToken.value = null;
}

export interface RiderRequest {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Call the API as the rider; rejects with an ApiError (status 0: no network). */
export async function riderApi<T>(path: string, options: RiderRequest = {}): Promise<T> {
  const token = deviceToken.value;
  const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      headers,
      body: options.body === undefined ? null : JSON.stringify(options.body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "No network", "The server cannot be reached.", "network_error");
  }
  if (!response.ok) {
    const error = await problemOf(response);
    if (response.status === 401) signOut(error.detail || error.title);
    throw error;
  }
  return (await response.json()) as T;
}

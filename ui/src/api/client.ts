// fetch for our API: bearer token, JSON, and RFC 9457 problem+json errors whose
// `title` (and `detail`) the pages show. A 401 means the credential expired or
// was revoked: the session ends and the user goes back to sign-in with the
// server's reason.
import { loadSession, signOut } from "../auth/session";
import type { Problem } from "./types";

export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly code: string;

  constructor(status: number, title: string, detail: string, code: string) {
    super(detail ? `${title}: ${detail}` : title);
    this.name = "ApiError";
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.code = code;
  }
}

/** The problem document of a failed response (any body, even none). */
export async function problemOf(response: Response): Promise<ApiError> {
  const fallbackTitle = response.statusText || `HTTP ${response.status}`;
  let body: Partial<Problem> | null = null;
  try {
    const text = await response.text();
    body = text ? (JSON.parse(text) as Partial<Problem>) : null;
  } catch {
    body = null;
  }
  const title = typeof body?.title === "string" && body.title ? body.title : fallbackTitle;
  const detail = typeof body?.detail === "string" ? body.detail : "";
  const code = typeof body?.code === "string" ? body.code : "http_error";
  return new ApiError(response.status, title, detail, code);
}

export type Unauthorized = (error: ApiError) => void;

let onUnauthorized: Unauthorized = (error) => signOut(error.detail || error.title);

/** Replace what a 401 does (a token refresh can retry before signing out). */
export function setUnauthorizedHandler(handler: Unauthorized): void {
  onUnauthorized = handler;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** false: send no token and do not treat 401 as a lost session (sign-in). */
  auth?: boolean;
  signal?: AbortSignal;
}

/** Call the API; resolves with the parsed JSON body, rejects with an ApiError. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const auth = options.auth ?? true;
  const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (auth) {
    const session = loadSession();
    if (session) headers.Authorization = `Bearer ${session.token}`;
  }
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      headers,
      body: options.body === undefined ? null : JSON.stringify(options.body),
      signal: options.signal ?? null,
      credentials: "same-origin",
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "Network error", "The server cannot be reached.", "network_error");
  }
  if (!response.ok) {
    const error = await problemOf(response);
    if (auth && response.status === 401) onUnauthorized(error);
    throw error;
  }
  return (await response.json()) as T;
}

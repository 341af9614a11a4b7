import { describe, expect, it } from "vitest";
import { parseSession, signInUrl, landingPage } from "../auth/session";
import { problemOf } from "./client";

describe("problem+json", () => {
  it("keeps title, detail and code", async () => {
    const response = new Response(
      JSON.stringify({ type: "x", title: "Unauthorized", status: 401, detail: "The access token has expired.", code: "unauthenticated" }),
      { status: 401, headers: { "Content-Type": "application/problem+json" } },
    );
    const error = await problemOf(response);
    expect([error.status, error.title, error.detail, error.code]).toEqual([
      401,
      "Unauthorized",
      "The access token has expired.",
      "unauthenticated",
    ]);
  });

  it("falls back to the status line without a problem body", async () => {
    const error = await problemOf(new Response("<html>", { status: 502, statusText: "Bad Gateway" }));
    expect(error.title).toBe("Bad Gateway");
    expect(error.code).toBe("http_error");
  });
});

describe("session", () => {
  const stored = (expiresAt: string) =>
    JSON.stringify({ token: "t", expiresAt, role: "dispatcher", username: "dora" });
  it("drops expired and malformed sessions", () => {
    const now = Date.parse("2026-12-07T10:00:00Z");
    expect(parseSession(stored("2026-12-07T10:15:00Z"), now)?.username).toBe("dora");
    expect(parseSession(stored("2026-12-07T09:59:59Z"), now)).toBeNull();
    expect(parseSession("{", now)).toBeNull();
    expect(parseSession(JSON.stringify({ token: 1 }), now)).toBeNull();
    expect(parseSession(null, now)).toBeNull();
  });

  it("builds sign-in links that only return to our own pages", () => {
    expect(signInUrl("Expired", "/ui/dispatcher/")).toBe("/ui/login/?reason=Expired&next=%2Fui%2Fdispatcher%2F");
    expect(signInUrl(undefined, "//evil.example/")).toBe("/ui/login/");
    expect(landingPage("dispatcher", "https://evil.example/")).toBe("/ui/dispatcher/");
    expect(landingPage("admin", "/ui/dispatcher/?follow=r1")).toBe("/ui/dispatcher/?follow=r1");
  });
});

import { describe, expect, it } from "vitest";
import { lang, setLang, t } from "./strings";
import {
  applyUpdate,
  formatTime,
  formatWindow,
  headline,
  lateness,
  otpCode,
  riderToShow,
  timeline,
  tokenFromHash,
  type TrackingView,
} from "./view";

const VIEW: TrackingView = {
  status: "assigned",
  window_start_at: "2026-12-07T12:00:00Z",
  window_end_at: "2026-12-07T15:00:00Z",
  eta_at: null,
  rider_position: null,
};
const MALTA = "Europe/Malta";
const NOON = Date.parse("2026-12-07T12:30:00Z");

describe("applyUpdate", () => {
  it("needs a whole view first, then merges the changed fields", () => {
    expect(applyUpdate(null, { eta_at: "2026-12-07T13:00:00Z" })).toBeNull();
    const first = applyUpdate(null, VIEW);
    expect(first).toEqual(VIEW);
    const eta = applyUpdate(first, { eta_at: "2026-12-07T13:10:00Z" });
    expect(eta?.eta_at).toBe("2026-12-07T13:10:00Z");
    expect(eta?.status).toBe("assigned");
    const moving = applyUpdate(eta, { status: "on_the_way", rider_position: { lat: 35.9, lon: 14.5 } });
    expect(moving?.rider_position).toEqual({ lat: 35.9, lon: 14.5 });
    expect(applyUpdate(moving, { rider_position: null })?.rider_position).toBeNull();
  });

  it("ignores malformed fields instead of half-applying them", () => {
    const first = applyUpdate(null, { ...VIEW, status: "on_the_way", rider_position: { lat: 35.9, lon: 14.5 } });
    const after = applyUpdate(first, {
      status: "teleported",
      eta_at: "soon",
      rider_position: { lat: 200, lon: 14.5 },
    });
    expect(after).toEqual(first);
    expect(applyUpdate(first, "nonsense")).toBe(first);
  });
});

describe("riderToShow", () => {
  it("shows the rider only while on the way with a position", () => {
    const point = { lat: 35.9, lon: 14.5 };
    expect(riderToShow({ ...VIEW, status: "on_the_way", rider_position: point })).toEqual(point);
    expect(riderToShow({ ...VIEW, status: "on_the_way", rider_position: null })).toBeNull();
    expect(riderToShow({ ...VIEW, status: "assigned", rider_position: point })).toBeNull();
    expect(riderToShow({ ...VIEW, status: "delivered", rider_position: point })).toBeNull();
  });
});

describe("lateness", () => {
  it("is honest about holds, late ETAs and passed windows", () => {
    expect(lateness(VIEW, NOON)).toBeNull();
    expect(lateness({ ...VIEW, status: "delayed" }, NOON)).toBe("held");
    expect(lateness({ ...VIEW, eta_at: "2026-12-07T15:20:00Z" }, NOON)).toBe("eta_after_window");
    expect(lateness({ ...VIEW, eta_at: "2026-12-07T14:00:00Z" }, NOON)).toBeNull();
    expect(lateness(VIEW, Date.parse("2026-12-07T15:01:00Z"))).toBe("window_passed");
  });

  it("says nothing once the delivery is closed", () => {
    for (const status of ["delivered", "not_delivered", "cancelled", "replaced"] as const) {
      expect(lateness({ ...VIEW, status }, Date.parse("2026-12-08T00:00:00Z"))).toBeNull();
    }
  });
});

describe("headline", () => {
  it("gives the ETA with the window, or the window alone while on time", () => {
    expect(headline({ ...VIEW, eta_at: "2026-12-07T13:10:00Z" }, NOON)).toEqual({ key: "eta.around", showWindow: true });
    expect(headline(VIEW, NOON)).toEqual({ key: "eta.window", showWindow: false });
  });

  it("never promises a window that no longer holds", () => {
    expect(headline({ ...VIEW, status: "delayed" }, NOON).key).toBe("eta.unknown");
    expect(headline(VIEW, Date.parse("2026-12-07T15:30:00Z")).key).toBe("eta.unknown");
    expect(headline({ ...VIEW, status: "delivered" }, NOON).key).toBe("eta.delivered");
    expect(headline({ ...VIEW, status: "cancelled" }, NOON).key).toBe("eta.closed");
  });
});

describe("timeline", () => {
  it("marks what is done, now and next", () => {
    expect(timeline("on_the_way").map((s) => s.state)).toEqual(["done", "done", "current", "upcoming"]);
    expect(timeline("delivered").every((s) => s.state === "done")).toBe(true);
    expect(timeline("preparing")[0]).toEqual({ key: "step.preparing", state: "current" });
    expect(timeline("assigned").map((s) => s.state)).toEqual(["done", "current", "upcoming", "upcoming"]);
  });

  it("shows a delay or a failure as a problem step, not as progress", () => {
    expect(timeline("delayed").find((s) => s.state === "problem")?.key).toBe("step.delayed");
    expect(timeline("not_delivered").at(-1)).toEqual({ key: "step.not_delivered", state: "problem" });
    expect(timeline("not_delivered").filter((s) => s.state === "done")).toHaveLength(3);
    expect(timeline("cancelled").at(-1)?.state).toBe("problem");
    expect(timeline("replaced").at(-1)?.key).toBe("step.replaced");
  });
});

describe("formatting", () => {
  it("shows times in the business time zone, not the browser's", () => {
    // 12:00Z is 13:00 in Malta in December (CET) and 17:30 in Kolkata
    expect(formatTime("2026-12-07T12:00:00Z", MALTA, NOON)).toBe("13:00");
    expect(formatTime("2026-12-07T12:00:00Z", "Asia/Kolkata", NOON)).toBe("17:30");
  });

  it("adds the day when it is not today", () => {
    expect(formatTime("2026-12-08T09:00:00Z", MALTA, NOON)).toMatch(/Tue.*8.*Dec.*10:00/);
    const window = formatWindow({ window_start_at: "2026-12-08T09:00:00Z", window_end_at: "2026-12-08T11:00:00Z" }, MALTA, NOON);
    expect(window.end).toBe("12:00");
    expect(formatWindow(VIEW, MALTA, NOON)).toEqual({ start: "13:00", end: "16:00" });
  });

  it("finds the delivery code and the token", () => {
    expect(otpCode("Your delivery code is 482913")).toBe("482913");
    expect(otpCode("No code here")).toBeNull();
    expect(tokenFromHash("#rxd_trk_" + "a".repeat(43))).toBe("rxd_trk_" + "a".repeat(43));
    expect(tokenFromHash("")).toBeNull();
    expect(tokenFromHash("#<script>")).toBeNull();
  });
});

describe("strings", () => {
  it("fills placeholders and falls back to English", () => {
    expect(t("eta.around", { time: "14:05" })).toBe("Arriving around 14:05");
    setLang("mt-MT");
    expect(lang.value).toBe("en");
    expect(t("status.now", { status: t("status.delayed") })).toBe("Status: Delayed");
  });
});

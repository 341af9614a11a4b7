import { describe, expect, it } from "vitest";
import { may } from "./permissions";
import { reasonLabel, reasonText } from "./reasons";

describe("reasons", () => {
  it("words the engine's codes and keeps the API's detail", () => {
    expect(reasonText("window_impossible", "the delivery window closes at 14:02; the earliest a rider can arrive is 14:30")).toBe(
      "Cannot make the delivery window: the delivery window closes at 14:02; the earliest a rider can arrive is 14:30",
    );
    expect(reasonText("not_planned", "")).toBe("Not planned yet");
  });
  it("reads an unknown code as words", () => {
    expect(reasonLabel("some_new_reason")).toBe("Some new reason");
  });
});

describe("permissions", () => {
  it("mirrors the API's role checks", () => {
    expect(may("dispatcher", "cancel_order")).toBe(true);
    expect(may("pharmacist", "cancel_order")).toBe(false);
    expect(may("pharmacist", "quarantine_box")).toBe(true);
    expect(may("pharmacist", "watch_live_map")).toBe(false);
    expect(may("rider", "place_hold")).toBe(false);
    expect(may("admin", "clear_box")).toBe(true);
  });
});

describe("business time zone", () => {
  it("shows clock times in the pharmacies' zone once known", async () => {
    const { formatClock, setBusinessTimeZone } = await import("./format");
    const at = "2026-12-07T13:02:00Z";
    setBusinessTimeZone("Europe/Malta");
    expect(formatClock(at)).toBe("14:02");
    expect(formatClock(at, "UTC")).toBe("13:02");
    setBusinessTimeZone("Not/AZone"); // ignored
    expect(formatClock(at)).toBe("14:02");
    setBusinessTimeZone(undefined);
  });
});

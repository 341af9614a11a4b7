import { describe, expect, it } from "vitest";
import { parseFrame, type FeedMessage } from "../live/envelope";
import {
  acknowledge,
  applyFeedMessage,
  bannerDetail,
  bannerTitle,
  excursionIdOf,
  fromSnapshot,
  openBanners,
  type ColdAlerts,
} from "./coldAlerts";

function frame(type: string, data: Record<string, unknown>): FeedMessage {
  const message = parseFrame(JSON.stringify({ v: 1, type, ts: "2026-12-07T10:00:00Z", data }));
  if (message === null) throw new Error("bad frame");
  return message;
}

const opened = (id: number, kind = "temperature_high", peak: number | null = 9.5) =>
  frame("alert", {
    type: "excursion.opened",
    kind,
    excursion_id: id,
    box_id: `box-${id}`,
    rule: "cumulative",
    started_at: "2026-12-07T09:40:00Z",
    alarmed_at: "2026-12-07T09:50:00Z",
    peak_c: peak,
    hold_id: null,
    order_ids: [],
    alert_id: `excursion.opened:${id}`,
  });

describe("cold-chain alerts", () => {
  it("raise one alert per excursion, however many frames arrive", () => {
    let alerts: ColdAlerts = new Map();
    for (let i = 0; i < 12; i += 1) alerts = applyFeedMessage(alerts, opened(7, "temperature_high", 9 + i / 10));
    alerts = applyFeedMessage(alerts, opened(8));
    expect([...alerts.keys()]).toEqual(["excursion.opened:7", "excursion.opened:8"]);
    expect(alerts.get("excursion.opened:7")?.peakC).toBeCloseTo(10.1);
    expect(openBanners(alerts)).toHaveLength(2);
  });

  it("return the same map for a frame that changes nothing", () => {
    const once = applyFeedMessage(new Map(), opened(3));
    expect(applyFeedMessage(once, opened(3))).toBe(once);
    expect(applyFeedMessage(once, frame("heartbeat", {}))).toBe(once);
  });

  it("make a silent box its own kind", () => {
    const alerts = applyFeedMessage(new Map(), opened(4, "box_silent", null));
    const [alert] = openBanners(alerts);
    expect(alert?.kind).toBe("box_silent");
    expect(bannerTitle(alert!)).toBe("Box silent");
    expect(bannerDetail(alert!)).toBe("box-4 · no readings");
    const hot = openBanners(applyFeedMessage(new Map(), opened(5)))[0]!;
    expect(bannerTitle(hot)).toBe("Cold-box excursion");
    expect(bannerDetail(hot)).toBe("box-5 · too warm · peak 9.5 °C");
  });

  it("keep an acknowledgement across frames and an older snapshot", () => {
    let alerts = applyFeedMessage(new Map(), opened(7));
    alerts = acknowledge(alerts, "excursion.opened:7");
    alerts = applyFeedMessage(alerts, opened(7, "temperature_high", 11));
    expect(openBanners(alerts)).toEqual([]);
    const resynced = fromSnapshot(
      [{ alert_id: "excursion.opened:7", kind: "excursion.opened", box_id: "box-7", reason: "temperature_high", acknowledged: false }],
      alerts,
    );
    expect(resynced.get("excursion.opened:7")?.acknowledged).toBe(true);
    expect(openBanners(resynced)).toEqual([]);
  });

  it("take acknowledgements from the feed and the snapshot", () => {
    const alerts = applyFeedMessage(new Map(), opened(9));
    const acked = applyFeedMessage(alerts, frame("excursion.acknowledged", { alert_id: "excursion.opened:9", excursion_id: 9 }));
    expect(acked.get("excursion.opened:9")?.acknowledged).toBe(true);
    const fresh = fromSnapshot(
      [
        { alert_id: "excursion.opened:2", kind: "excursion.opened", box_id: "b", reason: "box_silent", acknowledged: true },
        { alert_id: "excursion.opened:3", kind: "excursion.opened", box_id: "c", reason: "temperature_low" },
        { alert_id: "hold.placed:1", kind: "hold.placed" },
      ],
      new Map(),
    );
    expect([...fresh.keys()]).toEqual(["excursion.opened:2", "excursion.opened:3"]);
    expect(openBanners(fresh).map((a) => a.excursionId)).toEqual([3]);
    expect(fresh.get("excursion.opened:2")?.kind).toBe("box_silent");
  });

  it("drop resolved alerts at a resync and read only excursion ids", () => {
    const alerts = applyFeedMessage(new Map(), opened(7));
    expect(fromSnapshot([], alerts).size).toBe(0);
    expect(excursionIdOf("excursion.opened:12")).toBe(12);
    expect(excursionIdOf("hold.placed:12")).toBeNull();
    expect(excursionIdOf("excursion.opened:x")).toBeNull();
  });
});

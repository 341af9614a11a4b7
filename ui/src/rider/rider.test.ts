import { describe, expect, it } from "vitest";
import { hashWithoutToken, looksLikeToken, tokenFromHash } from "./device";
import { navigationLinks } from "./navigation";
import {
  actionPath,
  dismiss,
  flush,
  loadQueue,
  newAction,
  newKey,
  pendingStops,
  saveQueue,
  type QueueStorage,
  type QueuedAction,
  type SendResult,
} from "./queue";
import { cssAssets, htmlAssets, isCachedAsset } from "./shell";
import { signatureSvg } from "./signature";
import { attemptsText, parseLastDigits, parseLots, parseOtp, timing, withEtas } from "./stops";

class MemoryStorage implements QueueStorage {
  data = new Map<string, string>();
  getItem(key: string) {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.data.set(key, value);
  }
  removeItem(key: string) {
    this.data.delete(key);
  }
}

const action = (key: string, stopId = `o-${key}:delivery`): QueuedAction =>
  newAction({ kind: "delivery", orderId: `o-${key}`, stopId, label: `Delivery ${key}`, body: { otp: "123456" } }, key);

const problem = (status: number, title = "Refused"): SendResult => ({ ok: false, status, title, detail: "", code: "x" });

describe("the confirmation queue", () => {
  it("sends in order and removes what landed, keeping each key for every try", async () => {
    const tried: string[] = [];
    const seen: number[] = [];
    const outcome = await flush([action("a"), action("b")], async (a) => (tried.push(a.key), { ok: true }), (items) =>
      seen.push(items.length),
    );
    expect(tried).toEqual(["a", "b"]);
    expect(outcome.items).toEqual([]);
    expect(outcome.sent).toEqual(["a", "b"]);
    expect(seen).toEqual([1, 0]);
  });

  it("stops at a network error and keeps the item waiting with the same key", async () => {
    const tried: string[] = [];
    const outcome = await flush([action("a"), action("b")], async (a) => (tried.push(a.key), problem(0, "No network")));
    expect(tried).toEqual(["a"]);
    expect(outcome.stalled).toBe(true);
    expect(outcome.items.map((i) => [i.key, i.state, i.tries])).toEqual([
      ["a", "waiting", 1],
      ["b", "waiting", 0],
    ]);
  });

  it("keeps a refused item visible with the problem's title and goes on", async () => {
    const outcome = await flush([action("a"), action("b")], async (a) =>
      a.key === "a" ? problem(422, "Wrong code, 4 attempt(s) left") : { ok: true },
    );
    expect(outcome.items).toHaveLength(1);
    expect(outcome.items[0]?.state).toBe("refused");
    expect(outcome.items[0]?.problem?.title).toBe("Wrong code, 4 attempt(s) left");
    expect(outcome.sent).toEqual(["b"]);
  });

  it("waits on a 401, a 429 and a 5xx instead of refusing", async () => {
    for (const status of [401, 429, 503]) {
      const outcome = await flush([action("a")], async () => problem(status));
      expect(outcome.items[0]?.state).toBe("waiting");
      expect(outcome.unauthorized).toBe(status === 401);
    }
  });

  it("skips refused items and dismisses only refused ones", async () => {
    const refused: QueuedAction = { ...action("a"), state: "refused" };
    const tried: string[] = [];
    await flush([refused, action("b")], async (a) => (tried.push(a.key), { ok: true }));
    expect(tried).toEqual(["b"]);
    expect(dismiss([refused, action("b")], "b")).toHaveLength(2);
    expect(dismiss([refused, action("b")], "a").map((i) => i.key)).toEqual(["b"]);
  });

  it("makes keys of 32 hex digits, a new one each time", () => {
    expect(newKey()).toMatch(/^[0-9a-f]{32}$/);
    expect(newKey()).not.toBe(newKey());
    expect(newKey((b) => b.fill(255))).toBe("f".repeat(32));
  });

  it("persists, survives malformed storage, and locks the stops it holds", () => {
    const storage = new MemoryStorage();
    saveQueue(storage, [action("a")]);
    expect(loadQueue(storage).map((i) => i.key)).toEqual(["a"]);
    saveQueue(storage, []);
    expect(storage.data.size).toBe(0);
    storage.setItem("rxd.rider.queue", "{not json");
    expect(loadQueue(storage)).toEqual([]);
    storage.setItem("rxd.rider.queue", JSON.stringify([{ key: 1 }, action("b")]));
    expect(loadQueue(storage).map((i) => i.key)).toEqual(["b"]);
    expect(pendingStops([action("a", "s1")])).toEqual(new Set(["s1"]));
    expect(actionPath({ kind: "pickup", orderId: "a/b" })).toBe("/orders/a%2Fb/pickup");
  });
});

describe("navigation links", () => {
  it("gives geo:, Google, Apple and Waze links to the stop", () => {
    const links = navigationLinks(35.8989, 14.5146);
    expect(links.map((l) => l.app)).toEqual(["geo", "google", "apple", "waze"]);
    expect(links[0]?.href).toBe("geo:35.8989,14.5146?q=35.8989%2C14.5146");
    expect(links[1]?.href).toContain("https://www.google.com/maps/dir/?api=1&destination=35.8989%2C14.5146");
    expect(links[2]?.href).toBe("https://maps.apple.com/?daddr=35.8989%2C14.5146&dirflg=d");
    expect(links[3]?.href).toBe("https://waze.com/ul?ll=35.8989%2C14.5146&navigate=yes");
  });

  it("refuses impossible coordinates", () => {
    expect(() => navigationLinks(91, 0)).toThrow();
    expect(() => navigationLinks(Number.NaN, 0)).toThrow();
  });
});

describe("what the rider types", () => {
  it("parses lot codes as printed on labels, and names a bad one", () => {
    const code = "K7QDX2M4ABCDEFGHIJKLMNOP";
    expect(parseLots(`${code}, ${code.toLowerCase()}`)).toEqual({ codes: [code] });
    expect(parseLots("K7QD-X2M4 ABCD-EFGH IJKL-MNOP\nAAAAAAAAAAAAAAAAAAAAAAAA")).toEqual({
      codes: [code, "AAAAAAAAAAAAAAAAAAAAAAAA"],
    });
    expect(parseLots("")).toHaveProperty("error");
    expect(parseLots("12a")).toEqual({ error: '"12a" is not a lot code.' });
    expect(parseLots("1201")).toHaveProperty("error"); // an internal id is not a code
    expect(parseLots(code + "2")).toHaveProperty("error");
  });

  it("checks the code and the ID's last characters", () => {
    expect(parseOtp(" 123 456 ")).toEqual({ otp: "123456" });
    expect(parseOtp("12a456")).toHaveProperty("error");
    expect(parseLastDigits("ab1")).toEqual({ value: "AB1" });
    expect(parseLastDigits("1")).toHaveProperty("error");
  });

  it("says how many tries are left and when the ETA is late", () => {
    expect(attemptsText(null)).toBeNull();
    expect(attemptsText(1)).toBe("1 try left");
    expect(attemptsText(4)).toBe("4 tries left");
    expect(attemptsText(0)).toBe("Code locked: call dispatch");
    expect(timing("2026-01-01T10:30:00Z", "2026-01-01T10:00:00Z")).toBe("late");
    expect(timing("2026-01-01T09:30:00Z", "2026-01-01T10:00:00Z")).toBe("on_time");
    expect(timing(null, "2026-01-01T10:00:00Z")).toBe("unknown");
  });
});

describe("live ETAs", () => {
  it("replace the ETAs of the stops they name and leave the others", () => {
    const stops = [
      { stop_id: "a", eta_at: "2026-01-01T10:00:00Z" },
      { stop_id: "b", eta_at: null },
    ];
    const next = withEtas(stops, [{ stop_id: "b", eta_at: "2026-01-01T10:20:00Z" }, { stop_id: "z", eta_at: "x" }]);
    expect(next).toEqual([
      { stop_id: "a", eta_at: "2026-01-01T10:00:00Z" },
      { stop_id: "b", eta_at: "2026-01-01T10:20:00Z" },
    ]);
    expect(stops[1]?.eta_at).toBeNull();
  });
});

describe("the device token", () => {
  it("is read from the fragment and removed from it", () => {
    expect(tokenFromHash("#device-token=rxd_dev_abc")).toBe("rxd_dev_abc");
    expect(tokenFromHash("#other=1")).toBeNull();
    expect(hashWithoutToken("#device-token=rxd_dev_abc")).toBe("");
    expect(hashWithoutToken("#device-token=x&tab=map")).toBe("#tab=map");
    expect(looksLikeToken("rxd_dev_" + "a".repeat(43))).toBe(true);
    expect(looksLikeToken("short")).toBe(false);
    expect(looksLikeToken("has spaces in it for sure")).toBe(false);
  });
});

describe("the signature", () => {
  it("is one small SVG path of integer points, or null when nothing was drawn", () => {
    expect(signatureSvg([], 320, 140)).toBeNull();
    expect(signatureSvg([[[1, 1]]], 320, 140)).toBeNull();
    const svg = signatureSvg(
      [
        [
          [1.2, 2.7],
          [10, 20],
        ],
      ],
      320,
      140,
    );
    expect(svg).toContain('d="M1 3L10 20"');
    expect(svg?.startsWith("<svg")).toBe(true);
  });
});

describe("the offline shell", () => {
  it("keeps the page's same-origin assets and its CSS's fonts", () => {
    const html =
      '<script type="module" src="/ui/assets/rider-1.js"></script><link rel="stylesheet" href="/ui/assets/a.css">' +
      '<a href="https://example.com/x">x</a><link href="/other/thing">';
    expect(htmlAssets(html, "http://h")).toEqual(["http://h/ui/assets/rider-1.js", "http://h/ui/assets/a.css"]);
    const css = 'src: url(./noto-latin.woff2) format("woff2"), url(./noto-latin.woff); b: url("data:x"); c: url(https://cdn.example/x.png)';
    expect(cssAssets(css, "http://h/ui/assets/a.css")).toEqual(["http://h/ui/assets/noto-latin.woff2"]);
    expect(isCachedAsset("/ui/assets/x.js")).toBe(true);
    expect(isCachedAsset("/riders/me/route")).toBe(false);
  });
});

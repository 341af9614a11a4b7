import { describe, expect, it } from "vitest";
import { reconnectDelay } from "../live/socket";
import { actionFor } from "./shortcuts";

const key = (k: string, more: Partial<{ typing: boolean; ctrlKey: boolean }> = {}) => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  typing: false,
  ...more,
});

describe("shortcuts", () => {
  it("maps keys to actions", () => {
    expect(actionFor(key("/"))).toBe("search");
    expect(actionFor(key("f"))).toBe("fit");
    expect(actionFor(key("F"))).toBe("follow");
    expect(actionFor(key("x"))).toBeNull();
  });
  it("leaves typing and browser shortcuts alone", () => {
    expect(actionFor(key("f", { typing: true }))).toBeNull();
    expect(actionFor(key("Escape", { typing: true }))).toBe("escape");
    expect(actionFor(key("d", { ctrlKey: true }))).toBeNull();
  });
});

describe("reconnect back-off", () => {
  it("doubles from 1 s up to 15 s, with jitter", () => {
    expect(reconnectDelay(1, 0.5)).toBe(1000);
    expect(reconnectDelay(3, 0.5)).toBe(4000);
    expect(reconnectDelay(10, 0.5)).toBe(15_000);
    expect(reconnectDelay(1, 0)).toBe(750);
    expect(reconnectDelay(1, 1)).toBe(1250);
  });
});

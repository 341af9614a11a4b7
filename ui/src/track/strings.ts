// Every word the patient's tracking page shows, by key: one catalogue per
// language (English for now). `t(key, vars)` fills {placeholders}; `lang` is the
// hook a translation switches (the page re-renders, times follow `locale()`).
import { signal } from "@preact/signals";

const en = {
  "page.title": "Your delivery",
  "page.brand": "rxdispatch",
  "page.loading": "Loading your delivery…",
  "eta.heading": "Arrival",
  "eta.around": "Arriving around {time}",
  "eta.window": "Expected between {start} and {end}",
  "eta.windowLabel": "Your delivery window",
  "eta.windowRange": "{start} – {end}",
  "eta.pendingHint": "An arrival time follows once your rider is on the way.",
  "eta.unknown": "New arrival time to follow",
  "eta.delivered": "Delivered",
  "eta.closed": "This delivery is closed",
  "late.held": "Delayed: your order is being checked by the pharmacy before it goes on.",
  "late.eta": "Running late: the rider is expected after your delivery window.",
  "late.passed": "Running late: your delivery window has passed.",
  "status.heading": "Progress",
  "status.now": "Status: {status}",
  "status.preparing": "Being prepared",
  "status.assigned": "Rider assigned",
  "status.on_the_way": "On the way to you",
  "status.delivered": "Delivered",
  "status.delayed": "Delayed",
  "status.not_delivered": "Not delivered",
  "status.cancelled": "Cancelled",
  "status.replaced": "Rearranged",
  "step.preparing": "Prepared at the pharmacy",
  "step.assigned": "Rider assigned",
  "step.on_the_way": "On the way to you",
  "step.delivered": "Delivered",
  "step.delayed": "Delayed for a check at the pharmacy",
  "step.not_delivered": "Could not be delivered",
  "step.cancelled": "Cancelled",
  "step.replaced": "Rearranged as a new delivery: you will get a new link",
  "step.done": "done",
  "step.current": "now",
  "step.upcoming": "next",
  "step.problem": "needs attention",
  "messages.heading": "Messages",
  "messages.none": "No messages yet. Your delivery code appears here once the rider has your order.",
  "messages.otp": "Your delivery code",
  "messages.otpHint": "Give this code to the rider when they arrive. Do not share it before.",
  "messages.otherKind": "Message",
  "messages.statusLinkOnly":
    "This link shows the delivery's progress. The delivery code is sent to the patient's own phone.",
  "messages.expires": "Valid until {time}",
  "map.heading": "Map",
  "map.label": "Map showing where your rider is",
  "map.loading": "Loading the map…",
  "map.unavailable": "The map is unavailable on this device. Everything above stays up to date.",
  "map.failed": "The map could not be loaded. Everything above stays up to date.",
  "map.riderShown": "Your rider is shown on the map while on the way to you.",
  "map.riderHidden": "Your rider appears on the map once they are on the way to you.",
  "map.riderNotNext": "Your rider appears on the map when your delivery is their next stop.",
  "map.riderMarker": "Your rider",
  "live.live": "Live",
  "live.connecting": "Connecting…",
  "live.reconnecting": "Reconnecting… the information may be out of date.",
  "live.closed": "Updates stopped",
  "error.title": "Something went wrong",
  "error.retry": "Try again",
  "gone.title": "This tracking link is not valid",
  "gone.body": "The link may have expired after your delivery, or it is incomplete. Check the most recent message you received, or contact your pharmacy.",
  "gone.noToken": "This page needs the full tracking link you received. Open the link from your message again.",
} as const;

export type StringKey = keyof typeof en;
type Catalogue = Record<StringKey, string>;

const CATALOGUES: Record<string, Catalogue> = { en };
/** The BCP 47 locale each catalogue formats dates with (24-hour clock in English). */
const LOCALES: Record<string, string> = { en: "en-GB" };

/** The page's language; unknown codes fall back to English. */
export const lang = signal<string>("en");

export function setLang(code: string): void {
  const base = code.toLowerCase().split("-")[0] ?? "en";
  lang.value = base in CATALOGUES ? base : "en";
}

/** The locale for Intl formatting of the current language. */
export function locale(): string {
  return LOCALES[lang.value] ?? "en-GB";
}

/** The string for `key` in the current language, {name} replaced from `vars`. */
export function t(key: StringKey, vars: Record<string, string> = {}): string {
  const text = (CATALOGUES[lang.value] ?? en)[key];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => vars[name] ?? whole);
}

// Keyboard shortcuts of the dispatcher's page (press ? for the list).

export type Action =
  | "search"
  | "tab-orders"
  | "tab-riders"
  | "tab-plan"
  | "events"
  | "fit"
  | "dark"
  | "next"
  | "previous"
  | "follow"
  | "escape"
  | "help";

export const SHORTCUTS: readonly [string, Action, string][] = [
  ["/", "search", "Search orders"],
  ["1", "tab-orders", "Orders panel"],
  ["2", "tab-riders", "Riders panel"],
  ["3", "tab-plan", "Plan panel"],
  ["j", "next", "Next item"],
  ["k", "previous", "Previous item"],
  ["F", "follow", "Follow the selected rider (Shift+F)"],
  ["f", "fit", "Fit everything on the map"],
  ["e", "events", "Events drawer"],
  ["d", "dark", "Dark mode"],
  ["?", "help", "These shortcuts"],
  ["Escape", "escape", "Clear selection, stop following, close"],
];

const BY_KEY = new Map(SHORTCUTS.map(([key, action]) => [key, action]));

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  /** Whether focus is in a text field (only Escape acts there). */
  typing: boolean;
}

/** The action of a key press, or null. */
export function actionFor(event: KeyLike): Action | null {
  if (event.ctrlKey || event.metaKey || event.altKey) return null;
  if (event.typing) return event.key === "Escape" ? "escape" : null;
  return BY_KEY.get(event.key) ?? null;
}

export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

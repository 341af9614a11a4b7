// A colour per rider (stable across pages) and stale fixes.

/**
 * Ten colours far apart in hue or lightness, and apart from the status palette,
 * the pharmacies' teal and the stale grey (riders also wear a ring).
 */
export const RIDER_COLOURS: readonly string[] = [
  "#0891b2", // cyan
  "#db2777", // pink
  "#65a30d", // lime
  "#b45309", // brown
  "#9333ea", // purple
  "#1e3a8a", // navy
  "#a16207", // gold
  "#c026d3", // magenta
  "#881337", // maroon
  "#14532d", // forest
];

export const STALE_COLOUR = "#9ca3af";

/** A fix older than this (wall time) is drawn grey: the device went quiet. */
export const STALE_AFTER_MS = 60_000;

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * Colour of each rider: a hash of the id picks a slot, the next free slot on a
 * clash (ids sorted first, so every client agrees). Unique up to twelve riders.
 */
export function riderColours(ids: Iterable<string>): Map<string, string> {
  const sorted = [...new Set(ids)].sort();
  const taken = new Set<number>();
  const colours = new Map<string, string>();
  for (const id of sorted) {
    let slot = fnv1a(id) % RIDER_COLOURS.length;
    if (taken.size < RIDER_COLOURS.length) {
      while (taken.has(slot)) slot = (slot + 1) % RIDER_COLOURS.length;
    }
    taken.add(slot);
    colours.set(id, RIDER_COLOURS[slot] ?? RIDER_COLOURS[0]!);
  }
  return colours;
}

/** Whether a fix of that wall age is stale (no fix at all is stale too). */
export function isStale(wallAgeMs: number | null | undefined): boolean {
  return wallAgeMs == null || !Number.isFinite(wallAgeMs) || wallAgeMs > STALE_AFTER_MS;
}

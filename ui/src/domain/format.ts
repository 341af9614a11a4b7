// Formatting for lists and panels (24-hour clock, metric units).

const pad2 = (n: number): string => String(n).padStart(2, "0");

let businessZone: string | undefined;

/**
 * The business time zone clock times are shown in (the pharmacies' zone, as the
 * API words its reasons); undefined: the browser's. An unknown zone is ignored.
 */
export function setBusinessTimeZone(zone: string | undefined): void {
  if (zone) {
    try {
      new Intl.DateTimeFormat("en-GB", { timeZone: zone });
    } catch {
      return;
    }
  }
  businessZone = zone;
}

/** "14:05" in the given time zone (default: the business zone, else the browser's). */
export function formatClock(
  ms: number | string | null | undefined,
  timeZone: string | undefined = businessZone,
): string {
  if (ms == null) return "–";
  const value = typeof ms === "string" ? Date.parse(ms) : ms;
  if (!Number.isFinite(value)) return "–";
  return new Intl.DateTimeFormat("en-GB", {
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
    ...(timeZone ? { timeZone } : {}),
  }).format(value);
}

/** "45 s", "12 min", "1 h 05 min". Negative durations read as their size. */
export function formatDuration(seconds: number): string {
  const s = Math.round(Math.abs(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${pad2(minutes % 60)} min`;
}

/** "just now", "40 s ago", "3 min ago", "2 h ago". */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms)) return "never";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min ago`;
  return `${Math.floor(minutes / 60)} h ago`;
}

/** "850 m", "12.4 km", "120 km". */
export function formatDistance(metres: number): string {
  if (!Number.isFinite(metres)) return "–";
  if (metres < 1000) return `${Math.round(metres)} m`;
  const km = metres / 1000;
  return km < 100 ? `${km.toFixed(1)} km` : `${Math.round(km)} km`;
}

/** Thousands with thin spaces: 1 234 567. */
export function formatInteger(n: number): string {
  if (!Number.isFinite(n)) return "–";
  const sign = n < 0 ? "-" : "";
  return sign + String(Math.round(Math.abs(n))).replace(/\B(?=(\d{3})+(?!\d))/g, "\u2009");
}

/** An id short enough for a list row: the part after the last separator, or the tail. */
export function shortId(id: string, keep = 8): string {
  const tail = id.split(/[_:/-]/).pop() ?? id;
  return tail.length <= keep ? tail : tail.slice(-keep);
}

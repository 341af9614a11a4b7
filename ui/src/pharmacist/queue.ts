// The holds queue, pure: oldest first (the longest-waiting goods are the most
// at risk), each hold's age in a form a pharmacist reads at a glance.

export interface QueuedHold {
  id: number;
  reason: string;
  box_id: string | null;
  order_ids: readonly string[];
  placed_at: string;
}

/** "40 s", "12 min", "2 h 05 min", "3 d 4 h": how long a hold has waited. */
export function holdAge(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${String(minutes % 60).padStart(2, "0")} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** How urgent the wait is: over 30 min "warn", over 2 h "late". */
export function ageLevel(ms: number): "ok" | "warn" | "late" {
  if (ms >= 2 * 3600_000) return "late";
  if (ms >= 30 * 60_000) return "warn";
  return "ok";
}

const REASONS: Record<string, string> = {
  temperature_excursion: "Temperature excursion",
  box_quarantined: "Box quarantined",
  box_offline: "Box offline",
  damaged: "Damaged",
  pharmacist_request: "Pharmacist request",
};

/** "temperature_excursion" -> "Temperature excursion" (unknown codes humanised). */
export function reasonLabel(code: string): string {
  const known = REASONS[code];
  if (known) return known;
  const words = code.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Oldest first; ties by id. */
export function sortQueue<T extends QueuedHold>(holds: Iterable<T>): T[] {
  return [...holds].sort((a, b) => a.placed_at.localeCompare(b.placed_at) || a.id - b.id);
}

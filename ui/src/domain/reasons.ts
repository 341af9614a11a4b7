// Why an order is unassigned, as a dispatcher reads it: the engine's reason code
// as words, then its detail (the API words it with clock times in the business
// time zone: "the delivery window closes at 14:02; the earliest a rider can
// arrive is 14:30").

const LABELS: Readonly<Record<string, string>> = {
  window_impossible: "Cannot make the delivery window",
  no_reachable_pickup: "No pharmacy can hand it over in time",
  hold_time: "Would be out of the pharmacy too long",
  shift: "No rider's shift is long enough",
  capacity: "No rider has room",
  skills: "No rider has the skills",
  not_profitable: "No room in the current plan",
  not_planned: "Not planned yet",
  planning_failed: "Its data could not be planned",
  pharmacy_unusable: "Its pharmacies cannot be used",
  no_vehicle: "No rider on shift",
};

/** "window_impossible" -> "Cannot make the delivery window"; unknown codes read as words. */
export function reasonLabel(code: string): string {
  return LABELS[code] ?? code.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}

/** The label, then the detail when there is one. */
export function reasonText(code: string, detail?: string | null): string {
  const label = reasonLabel(code);
  return detail ? `${label}: ${detail}` : label;
}

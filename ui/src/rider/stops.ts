// What a stop card says, computed from the route view (pure, tested).
import { formatClock } from "../domain/format";

/** "10:00–13:00" in the business time zone. */
export function windowText(startAt: string, endAt: string, timeZone?: string): string {
  return `${formatClock(startAt, timeZone)}–${formatClock(endAt, timeZone)}`;
}

export type Timing = "on_time" | "late" | "unknown";

/** Whether the ETA falls after the window's end. */
export function timing(etaAt: string | null | undefined, windowEndAt: string): Timing {
  if (!etaAt) return "unknown";
  const eta = Date.parse(etaAt);
  const end = Date.parse(windowEndAt);
  if (!Number.isFinite(eta) || !Number.isFinite(end)) return "unknown";
  return eta > end ? "late" : "on_time";
}

/** A lot's scan code: 24 base32 characters (A-Z, 2-7), printed on its label. */
const SCAN_CODE = /^[A-Z2-7]{24}$/;

/** Lot codes typed or scanned (one per line, or separated by commas); a label's
 * grouping spaces and hyphens are ignored; an error names the bad one. */
export function parseLots(text: string): { codes: string[] } | { error: string } {
  const parts = text
    .split(/[\n,;]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) return { error: "Type or scan at least one lot code." };
  const codes: string[] = [];
  for (const part of parts) {
    const code = part.toUpperCase().replace(/[\s-]+/g, "");
    if (!SCAN_CODE.test(code)) return { error: `"${part}" is not a lot code.` };
    if (!codes.includes(code)) codes.push(code);
  }
  if (codes.length > 100) return { error: "At most 100 lots per pickup." };
  return { codes };
}

/** A delivery code: 4-12 digits, spaces ignored. */
export function parseOtp(text: string): { otp: string } | { error: string } {
  const otp = text.replace(/\s+/g, "");
  if (!/^\d{4,12}$/.test(otp)) return { error: "The code is 4 to 12 digits." };
  return { otp };
}

/** The last 2-4 letters or digits of an ID document. */
export function parseLastDigits(text: string): { value: string } | { error: string } {
  const value = text.trim().toUpperCase();
  if (!/^[A-Z0-9]{2,4}$/.test(value)) return { error: "Type the last 2 to 4 characters of the document." };
  return { value };
}

export const FAILURE_REASONS = [
  ["patient_absent", "Nobody at home"],
  ["address_not_found", "Address not found"],
  ["refused", "Refused by the recipient"],
  ["id_check_failed", "ID check failed"],
  ["goods_damaged", "Goods damaged"],
  ["unsafe_location", "Unsafe location"],
  ["other", "Other"],
] as const;

export type FailureReason = (typeof FAILURE_REASONS)[number][0];

export const DOCUMENT_TYPES = [
  ["national_id", "National ID card"],
  ["passport", "Passport"],
  ["driving_licence", "Driving licence"],
  ["residence_permit", "Residence permit"],
] as const;

/** "2 codes left", "1 code left", "Locked: call dispatch". */
export function attemptsText(left: number | null | undefined): string | null {
  if (left == null) return null;
  if (left <= 0) return "Code locked: call dispatch";
  return left === 1 ? "1 try left" : `${left} tries left`;
}

/** The stops with the live ETAs of an `eta.updated` frame (others unchanged). */
export function withEtas<S extends { stop_id: string; eta_at?: string | null }>(
  stops: readonly S[],
  etas: readonly { stop_id: string; eta_at: string }[],
): S[] {
  const by = new Map(etas.map((e) => [e.stop_id, e.eta_at]));
  return stops.map((s) => (by.has(s.stop_id) ? { ...s, eta_at: by.get(s.stop_id) } : s));
}

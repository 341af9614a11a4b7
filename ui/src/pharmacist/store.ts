// The pharmacist console's state (Preact signals).
import { signal } from "@preact/signals";
import type { ApiError } from "../api/client";
import type { AuditEntryRead, BoxReadings, ColdBoxRead, HoldDetail, HoldRead } from "../api/types";
import { BusinessClock } from "../domain/clock";
import type { SocketState } from "../live/socket";

export const clock = signal(new BusinessClock(null));
/** Wall-clock tick (5 s) for the queue's ages. */
export const tick = signal(Date.now());

/** Open holds by id (GET /holds, re-read on every hold event and reconnect). */
export const holds = signal<ReadonlyMap<number, HoldRead>>(new Map());
export const selectedId = signal<number | null>(null);

export interface HoldView {
  hold: HoldDetail;
  audit: AuditEntryRead[];
  box: ColdBoxRead | null;
  readings: BoxReadings | null;
  /** Why the readings could not be shown (the problem's title), if so. */
  readingsProblem: string | null;
  /** Replacement orders a rejection created (from the answer or the audit). */
  replacements: string[];
}

export const view = signal<HoldView | null>(null);
export const loadingView = signal(false);

export const connection = signal<SocketState>("connecting");
export const reconnectAttempt = signal(0);
export const lastSyncAt = signal<number | null>(null);
/** A failed read: shown with its title, with Retry. */
export const problem = signal<ApiError | null>(null);

// Staff actions from the live map (cancel an order, place a hold, quarantine or
// clear a cold box): each behind a confirmation dialog, offered only to the
// roles the API accepts (domain/permissions.ts). A refused action keeps the
// dialog open with the API's problem title and detail.
import { signal } from "@preact/signals";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api } from "../api/client";
import type { ColdBox, Order } from "../api/types";
import { shortId } from "../domain/format";
import { may, type StaffAction } from "../domain/permissions";
import { pushEvent } from "./store";
import { fullSync } from "./sync";

export interface Choice {
  value: string;
  label: string;
}

export interface PendingAction {
  action: Exclude<StaffAction, "watch_live_map">;
  title: string;
  /** What will happen, in a sentence. */
  description: string;
  confirmLabel: string;
  /** A choice to make first (e.g. a hold's reason). */
  choice?: { label: string; options: Choice[] };
  /** A short text: a reason or a note (never patient data). */
  text?: { label: string; required: boolean };
  /** Calls the API; resolves with a line for the events drawer. */
  run(choice: string, text: string): Promise<string>;
}

/** Events of this page's own actions (negative: apart from the feed's ids). */
let nextActionId = -1;

/** The role of the signed-in user (set at boot). */
export const staffRole = signal<string>("dispatcher");
/** The action waiting for confirmation, if any. */
export const pendingAction = signal<PendingAction | null>(null);

export function allowed(action: StaffAction): boolean {
  return may(staffRole.value, action);
}

const HOLD_REASONS: Choice[] = [
  { value: "damaged", label: "Damaged" },
  { value: "pharmacist_request", label: "Pharmacist's request" },
  { value: "box_offline", label: "Cold box offline" },
  { value: "temperature_excursion", label: "Temperature excursion" },
];

export function cancelOrder(order: Order): PendingAction {
  return {
    action: "cancel_order",
    title: `Cancel order ${shortId(order.id)}?`,
    description: "The order is cancelled and its reserved stock released. This cannot be undone.",
    confirmLabel: "Cancel order",
    text: { label: "Reason (no patient data)", required: false },
    async run(_choice, reason) {
      await api<Order>(`/orders/${encodeURIComponent(order.id)}/cancel`, { method: "POST", body: { reason } });
      return `Order ${shortId(order.id)} cancelled`;
    },
  };
}

export function placeHold(order: Order): PendingAction {
  return {
    action: "place_hold",
    title: `Hold order ${shortId(order.id)}?`,
    description: "The goods wait for a pharmacist's decision; the order leaves the plan until it is released.",
    confirmLabel: "Place hold",
    choice: { label: "Reason", options: HOLD_REASONS },
    text: { label: "Note for the pharmacist (no patient data)", required: false },
    async run(reason, note) {
      await api("/holds", { method: "POST", body: { reason, note, order_ids: [order.id] } });
      return `Hold placed on order ${shortId(order.id)}`;
    },
  };
}

export function quarantineBox(box: ColdBox): PendingAction {
  return {
    action: "quarantine_box",
    title: `Quarantine cold box ${box.id}?`,
    description: "The box leaves cold service: no new cold-chain orders go to it until it is cleared.",
    confirmLabel: "Quarantine box",
    text: { label: "Reason (no patient data)", required: true },
    async run(_choice, reason) {
      await api<ColdBox>(`/cold-boxes/${encodeURIComponent(box.id)}/quarantine`, { method: "POST", body: { reason } });
      return `Cold box ${box.id} quarantined`;
    },
  };
}

export function clearBox(box: ColdBox): PendingAction {
  return {
    action: "clear_box",
    title: `Clear cold box ${box.id}?`,
    description: "The box goes back into cold service and may carry cold-chain orders again.",
    confirmLabel: "Clear box",
    text: { label: "Note (no patient data)", required: false },
    async run(_choice, note) {
      await api<ColdBox>(`/cold-boxes/${encodeURIComponent(box.id)}/clear`, { method: "POST", body: { note } });
      return `Cold box ${box.id} cleared`;
    },
  };
}

/** Ask for confirmation of ``action`` (only if the role may take it). */
export function ask(action: PendingAction): void {
  if (allowed(action.action)) pendingAction.value = action;
}

export function ConfirmDialog({ action }: { action: PendingAction }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [choice, setChoice] = useState(action.choice?.options[0]?.value ?? "");
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  const missing = Boolean(action.text?.required && !text.trim());
  const confirm = async (event: Event) => {
    event.preventDefault();
    if (missing || busy) return;
    setBusy(true);
    setError(null);
    try {
      const line = await action.run(choice, text.trim());
      pushEvent({ id: nextActionId--, ts: new Date().toISOString(), title: line, detail: "", severity: "info" });
      pendingAction.value = null;
      void fullSync();
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, "Unexpected error", String(caught), "client_error"));
      setBusy(false);
    }
  };
  return (
    <dialog
      ref={ref}
      class="help confirm"
      aria-labelledby="confirm-title"
      aria-describedby="confirm-description"
      data-testid="confirm-dialog"
      data-action={action.action}
      onClose={() => (pendingAction.value = null)}
    >
      <form onSubmit={confirm}>
        <h2 id="confirm-title" class="panel-title">
          {action.title}
        </h2>
        <p id="confirm-description">{action.description}</p>
        {action.choice && (
          <label class="field">
            <span>{action.choice.label}</span>
            <select value={choice} onChange={(e) => setChoice((e.target as HTMLSelectElement).value)}>
              {action.choice.options.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
          </label>
        )}
        {action.text && (
          <label class="field">
            <span>
              {action.text.label}
              {action.text.required ? " (required)" : ""}
            </span>
            <input
              type="text"
              maxLength={200}
              value={text}
              required={action.text.required}
              onInput={(e) => setText((e.target as HTMLInputElement).value)}
            />
          </label>
        )}
        {error && (
          <p class="form-error" role="alert" data-testid="confirm-error">
            <strong>{error.title}</strong>
            {error.detail && <span> — {error.detail}</span>}
          </p>
        )}
        <div class="dialog-buttons">
          <button type="button" onClick={() => ref.current?.close()}>
            Back
          </button>
          <button type="submit" class="danger" disabled={busy || missing} data-testid="confirm">
            {busy ? "Working…" : action.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

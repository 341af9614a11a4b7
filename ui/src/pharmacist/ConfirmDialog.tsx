// A modal confirmation with a note: the decision is sent only from here, the
// note is required where the decision needs one, and a refusal shows the
// problem's title without closing (nothing typed is lost).
import { useSignal } from "@preact/signals";
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import type { ApiError } from "../api/client";
import { asApiError } from "./sync";

interface Props {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  noteLabel: string;
  noteRequired: boolean;
  danger?: boolean;
  onConfirm(note: string): Promise<void>;
  onClose(): void;
}

export const NOTE_MAX = 500;

export function ConfirmDialog({ title, children, confirmLabel, noteLabel, noteRequired, danger, onConfirm, onClose }: Props) {
  const note = useSignal("");
  const busy = useSignal(false);
  const missing = useSignal(false);
  const error = useSignal<ApiError | null>(null);
  const field = useRef<HTMLTextAreaElement | null>(null);
  const dialog = useRef<HTMLDivElement | null>(null);
  const opener = useRef<Element | null>(document.activeElement);

  useEffect(() => {
    field.current?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape" && !busy.value) onClose();
      if (event.key === "Tab") keepFocusInside(event);
    };
    window.addEventListener("keydown", onKey);
    const returnTo = opener.current;
    return () => {
      window.removeEventListener("keydown", onKey);
      if (returnTo instanceof HTMLElement) returnTo.focus();
    };
  }, []);

  /** Tab cycles within the dialog (it is modal). */
  function keepFocusInside(event: KeyboardEvent) {
    const box = dialog.current;
    if (!box) return;
    const focusable = [...box.querySelectorAll<HTMLElement>("textarea, button:not([disabled])")];
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (!first || !last) return;
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    } else if (!box.contains(document.activeElement)) {
      event.preventDefault();
      first.focus();
    }
  }

  async function submit(event: Event) {
    event.preventDefault();
    const text = note.value.trim();
    if (noteRequired && !text) {
      missing.value = true;
      field.current?.focus();
      return;
    }
    busy.value = true;
    error.value = null;
    try {
      await onConfirm(text);
      onClose();
    } catch (caught) {
      error.value = asApiError(caught);
    } finally {
      busy.value = false;
    }
  }

  return (
    <div class="modal-backdrop">
      <div ref={dialog} class="modal" role="dialog" aria-modal="true" aria-labelledby="confirm-title" data-testid="confirm-dialog">
        <form class="modal-form" onSubmit={submit} noValidate>
          <h2 id="confirm-title">{title}</h2>
          <div class="modal-body">{children}</div>
          <label for="decision-note">
            {noteLabel}
            {noteRequired ? " (required)" : " (optional)"}
          </label>
          <textarea
            id="decision-note"
            ref={field}
            rows={3}
            maxLength={NOTE_MAX}
            aria-required={noteRequired}
            aria-invalid={missing.value}
            aria-describedby={missing.value ? "note-missing" : undefined}
            placeholder="No patient data"
            value={note.value}
            onInput={(e) => {
              note.value = (e.target as HTMLTextAreaElement).value;
              if (note.value.trim()) missing.value = false;
            }}
            data-testid="decision-note"
          />
          {missing.value && (
            <p id="note-missing" class="field-error" role="alert" data-testid="note-missing">
              Write a note: a rejection must say why.
            </p>
          )}
          {error.value && (
            <div class="problem" role="alert" data-testid="decision-problem">
              <strong>{error.value.title}</strong>
              {error.value.detail && <span>{error.value.detail}</span>}
            </div>
          )}
          <div class="modal-actions">
            <button type="button" onClick={onClose} disabled={busy.value}>
              Cancel
            </button>
            <button type="submit" class={danger ? "danger" : "primary"} disabled={busy.value} data-testid="confirm-decision">
              {busy.value ? "Sending…" : confirmLabel}
            </button>
          </div>
        </form>
      </div>
    </div>
  );
}

// One stop of the route: where, when, who (first name), access notes, the
// navigation hand-off, and the confirmation the stop needs (pickup by lot,
// delivery by code with the ID check and signature its proof level needs,
// or a failure reason). A stop whose confirmation waits in the queue is locked.
import { useSignal } from "@preact/signals";
import { formatClock } from "../domain/format";
import { confirm, location, lockedStops, type RiderStop } from "./app";
import { navigationLinks } from "./navigation";
import { Scanner } from "./Scanner";
import { SignaturePad } from "./SignaturePad";
import {
  DOCUMENT_TYPES,
  FAILURE_REASONS,
  attemptsText,
  parseLastDigits,
  parseLots,
  parseOtp,
  timing,
  windowText,
  type FailureReason,
} from "./stops";

function here(): { lat: number; lon: number } | null {
  const state = location.value;
  return state.state === "on" ? { lat: state.fix.lat, lon: state.fix.lon } : null;
}

function FieldError({ id, text }: { id: string; text: string | null }) {
  if (!text) return null;
  return (
    <p class="field-error" id={id} role="alert">
      {text}
    </p>
  );
}

function PickupForm({ stop }: { stop: RiderStop }) {
  const lots = useSignal("");
  const error = useSignal<string | null>(null);
  const scanning = useSignal(false);
  const id = `lots-${stop.stop_id}`;
  function submit(event: Event) {
    event.preventDefault();
    const parsed = parseLots(lots.value);
    if ("error" in parsed) {
      error.value = parsed.error;
      return;
    }
    error.value = null;
    const at = here();
    confirm("pickup", stop, `Pickup at ${stop.place_name ?? "the pharmacy"}`, {
      scanned_lot_codes: parsed.codes,
      ...(at ? { position: at } : {}),
    });
  }
  return (
    <form class="action" onSubmit={submit} data-testid="pickup-form">
      <label for={id}>Lot codes</label>
      <div class="row">
        <input
          id={id}
          autocapitalize="characters"
          spellcheck={false}
          autocomplete="off"
          placeholder="e.g. K7QD-2M4X-…"
          value={lots.value}
          aria-describedby={error.value ? `${id}-error` : undefined}
          onInput={(e) => (lots.value = (e.target as HTMLInputElement).value)}
        />
        <button type="button" class="secondary" onClick={() => (scanning.value = !scanning.value)}>
          {scanning.value ? "Close camera" : "Scan"}
        </button>
      </div>
      {scanning.value && (
        <Scanner
          onRead={(value) => {
            lots.value = lots.value ? `${lots.value}, ${value}` : value;
            scanning.value = false;
          }}
        />
      )}
      <FieldError id={`${id}-error`} text={error.value} />
      <button type="submit">Confirm pickup</button>
    </form>
  );
}

function DeliveryForm({ stop }: { stop: RiderStop }) {
  const code = useSignal("");
  const docType = useSignal<string>("national_id");
  const digits = useSignal("");
  const signature = useSignal<string | null>(null);
  const error = useSignal<string | null>(null);
  const needsId = stop.proof_level === "otp_id_signature";
  const id = `otp-${stop.stop_id}`;
  const left = attemptsText(stop.otp_attempts_left);
  function submit(event: Event) {
    event.preventDefault();
    const otp = parseOtp(code.value);
    if ("error" in otp) {
      error.value = otp.error;
      return;
    }
    const at = here();
    if (!at) {
      error.value = "Your position is needed to confirm a delivery: turn location on.";
      return;
    }
    const body: Record<string, unknown> = { otp: otp.otp, position: at };
    if (needsId) {
      const last = parseLastDigits(digits.value);
      if ("error" in last) {
        error.value = last.error;
        return;
      }
      if (!signature.value) {
        error.value = "The recipient must sign.";
        return;
      }
      body.id_check = { document_type: docType.value, last_digits: last.value };
      body.signature = signature.value;
    }
    error.value = null;
    code.value = "";
    confirm("delivery", stop, `Delivery to ${stop.first_name ?? "the patient"}`, body);
  }
  return (
    <form class="action" onSubmit={submit} data-testid="delivery-form">
      <label for={id}>Patient's code</label>
      <input
        id={id}
        inputMode="numeric"
        autocomplete="one-time-code"
        maxLength={12}
        value={code.value}
        aria-describedby={`${id}-hint`}
        onInput={(e) => (code.value = (e.target as HTMLInputElement).value)}
      />
      <p class="hint" id={`${id}-hint`} data-testid="attempts-left">
        {left ?? "The patient received the code by message."}
      </p>
      {needsId && (
        <fieldset class="id-check">
          <legend>ID check and signature (required)</legend>
          <label for={`doc-${stop.stop_id}`}>Document</label>
          <select
            id={`doc-${stop.stop_id}`}
            value={docType.value}
            onChange={(e) => (docType.value = (e.target as HTMLSelectElement).value)}
          >
            {DOCUMENT_TYPES.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
          <label for={`digits-${stop.stop_id}`}>Last 2–4 characters of the document</label>
          <input
            id={`digits-${stop.stop_id}`}
            autocomplete="off"
            maxLength={4}
            value={digits.value}
            onInput={(e) => (digits.value = (e.target as HTMLInputElement).value)}
          />
          <SignaturePad id={`sig-${stop.stop_id}`} onChange={(svg) => (signature.value = svg)} />
        </fieldset>
      )}
      <FieldError id={`${id}-error`} text={error.value} />
      <button type="submit" disabled={stop.otp_attempts_left === 0}>
        Confirm delivery
      </button>
    </form>
  );
}

function FailureForm({ stop }: { stop: RiderStop }) {
  const open = useSignal(false);
  const reason = useSignal<FailureReason>("patient_absent");
  const id = `reason-${stop.stop_id}`;
  if (!open.value) {
    return (
      <button type="button" class="link-button" onClick={() => (open.value = true)}>
        Cannot deliver…
      </button>
    );
  }
  function submit(event: Event) {
    event.preventDefault();
    const at = here();
    confirm("failure", stop, `Failed delivery to ${stop.first_name ?? "the patient"}`, {
      reason: reason.value,
      ...(at ? { position: at } : {}),
    });
    open.value = false;
  }
  return (
    <form class="action failure" onSubmit={submit} data-testid="failure-form">
      <label for={id}>Why the delivery failed</label>
      <select id={id} value={reason.value} onChange={(e) => (reason.value = (e.target as HTMLSelectElement).value as FailureReason)}>
        {FAILURE_REASONS.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
      <div class="row">
        <button type="submit" class="danger">
          Report failure
        </button>
        <button type="button" class="secondary" onClick={() => (open.value = false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export interface StopCardProps {
  stop: RiderStop;
  index: number;
  timeZone?: string;
  next: boolean;
  /** A delivery whose pickup is neither done nor queued. */
  awaitingPickup: boolean;
}

export function StopCard({ stop, index, timeZone, next, awaitingPickup }: StopCardProps) {
  const locked = lockedStops.value.has(stop.stop_id);
  const late = timing(stop.eta_at, stop.window_end_at) === "late";
  const title = stop.kind === "pickup" ? (stop.place_name ?? "Pharmacy") : (stop.first_name ?? "Patient");
  const links = navigationLinks(stop.location.lat, stop.location.lon);
  return (
    <li class={`stop ${stop.kind}${next ? " next" : ""}`} data-testid="stop" data-stop-id={stop.stop_id} data-kind={stop.kind}>
      <div class="stop-head">
        <span class="stop-index" aria-hidden="true">
          {index + 1}
        </span>
        <div>
          <h3>
            <span class="kind">{stop.kind === "pickup" ? "Pick up at" : "Deliver to"}</span> {title}
          </h3>
          <p class="times">
            <span>Window {windowText(stop.window_start_at, stop.window_end_at, timeZone)}</span>
            <span class={late ? "eta late" : "eta"} data-testid="eta">
              ETA {formatClock(stop.eta_at ?? null, timeZone)}
              {late ? " · late" : ""}
            </span>
          </p>
        </div>
      </div>
      {stop.access_notes && (
        <p class="notes">
          <strong>Access:</strong> {stop.access_notes}
        </p>
      )}
      <nav class="nav-links" aria-label={`Navigate to stop ${index + 1}`}>
        <span class="nav-title" aria-hidden="true">
          Go
        </span>
        {links.map((link) => (
          <a key={link.app} href={link.href} target="_blank" rel="noopener noreferrer" data-app={link.app}>
            {link.label}
          </a>
        ))}
      </nav>
      {locked ? (
        <p class="locked" data-testid="stop-waiting">
          Confirmation waiting to send (see the list above).
        </p>
      ) : stop.kind === "pickup" ? (
        <PickupForm stop={stop} />
      ) : awaitingPickup ? (
        <p class="hint">Confirm the pickup first.</p>
      ) : (
        <>
          <DeliveryForm stop={stop} />
          <FailureForm stop={stop} />
        </>
      )}
    </li>
  );
}

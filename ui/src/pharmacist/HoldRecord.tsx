// One hold's record: what happened to the box (chart, span, minutes out of
// range, peak, MKT), the orders held, the decision (with confirmation), the
// replacement orders a rejection created, the box's quarantine and the audit.
import { useSignal } from "@preact/signals";
import type { AuditEntryRead, ColdBoxRead, ExcursionRecord } from "../api/types";
import { formatClock } from "../domain/format";
import { celsius } from "./chartData";
import { ConfirmDialog } from "./ConfirmDialog";
import { holdAge, reasonLabel } from "./queue";
import { clock, loadingView, tick, view } from "./store";
import { clearBox, rejectHold, releaseHold } from "./sync";
import { TemperatureChart } from "./TemperatureChart";

type Pending = "release" | "reject" | "clear" | null;

function dateTime(iso: string | null | undefined): string {
  if (!iso) return "–";
  const d = new Date(iso);
  if (!Number.isFinite(d.getTime())) return "–";
  return `${d.toLocaleDateString("en-GB", { day: "2-digit", month: "short" })} ${formatClock(iso)}`;
}

function minutes(value: number | null | undefined): string {
  return value == null ? "–" : `${value.toFixed(value < 10 ? 1 : 0)} min`;
}

function Fact({ label, value, id }: { label: string; value: string; id: string }) {
  return (
    <div class="fact">
      <dt>{label}</dt>
      <dd data-testid={`fact-${id}`}>{value}</dd>
    </div>
  );
}

function ExcursionFacts({ x }: { x: ExcursionRecord }) {
  return (
    <dl class="facts" data-testid="excursion-facts">
      <Fact id="kind" label="What" value={x.kind.replace(/_/g, " ")} />
      <Fact id="band" label="Allowed" value={x.range ? `${celsius(x.range.low_c)} – ${celsius(x.range.high_c)}` : "unknown"} />
      <Fact id="start" label="Started" value={dateTime(x.started_at)} />
      <Fact id="end" label="Ended" value={x.ended_at ? dateTime(x.ended_at) : "still out of range"} />
      <Fact id="minutes-out" label="Minutes out of range" value={minutes(x.minutes_out_of_range)} />
      <Fact id="peak" label="Peak" value={celsius(x.peak_c)} />
      <Fact id="mkt" label="MKT (excursion)" value={celsius(x.mkt_c)} />
      <Fact
        id="mkt-window"
        label={x.mkt_window ? `MKT (${x.mkt_window.hours} h window)` : "MKT window"}
        value={x.mkt_window ? celsius(x.mkt_window.mkt_c) : "–"}
      />
      <Fact id="min" label="Coldest" value={celsius(x.min_c)} />
      <Fact
        id="acknowledged"
        label="Acknowledged"
        value={x.acknowledged_by ? `${x.acknowledged_by}, ${dateTime(x.acknowledged_at)}` : "not yet"}
      />
    </dl>
  );
}

const ACTIONS: Record<string, string> = {
  "hold.placed": "Hold placed",
  "hold.released": "Released",
  "hold.rejected": "Rejected",
};

function auditDetail(entry: AuditEntryRead): string {
  const d = entry.details;
  const parts: string[] = [];
  if (typeof d.reason === "string") parts.push(reasonLabel(d.reason));
  if (Array.isArray(d.orders)) parts.push(`${d.orders.length} order${d.orders.length === 1 ? "" : "s"}`);
  if (Array.isArray(d.replacements) && d.replacements.length) {
    parts.push(`replacements ${d.replacements.map((p) => (Array.isArray(p) ? String(p[1]) : "")).join(", ")}`);
  }
  if (typeof d.note === "string" && d.note) parts.push(`“${d.note}”`);
  return parts.join(" · ");
}

function AuditTrail({ entries }: { entries: AuditEntryRead[] }) {
  return (
    <section class="card" aria-labelledby="audit-title">
      <h3 id="audit-title">Audit trail</h3>
      {entries.length === 0 ? (
        <p class="empty">No entries yet.</p>
      ) : (
        <ol class="audit" data-testid="audit-trail">
          {entries.map((e) => (
            <li key={e.seq} data-testid="audit-entry" data-action={e.action}>
              <time dateTime={e.recorded_at}>{dateTime(e.recorded_at)}</time>
              <strong>{ACTIONS[e.action] ?? e.action}</strong>
              <span class="audit-actor">{e.actor}</span>
              <span class="audit-detail">{auditDetail(e)}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function BoxStatus({ box, onClear }: { box: ColdBoxRead; onClear(): void }) {
  return (
    <section class="card" aria-labelledby="box-title" data-testid="box-status" data-quarantined={!box.fit_for_cold}>
      <h3 id="box-title">Box {box.id}</h3>
      <p>
        Profile {box.profile_code}
        {box.rider_id ? ` · with rider ${box.rider_id}` : " · not with a rider"}
      </p>
      {box.fit_for_cold ? (
        <p class="ok-text">In cold service.</p>
      ) : (
        <>
          <p class="warn-text">
            Quarantined since {dateTime(box.quarantined_at)}
            {box.quarantine_reason ? ` — ${box.quarantine_reason}` : ""}
            {box.quarantine_ref ? ` (set by ${box.quarantine_ref.startsWith("excursion") ? "the excursion" : box.quarantine_ref})` : ""}.
            It takes no cold-chain orders until cleared.
          </p>
          <button type="button" onClick={onClear} data-testid="clear-box">
            Clear quarantine…
          </button>
        </>
      )}
    </section>
  );
}

export function HoldRecord() {
  const pending = useSignal<Pending>(null);
  const current = view.value;
  if (!current) {
    return (
      <section class="record record-empty" aria-live="polite">
        <p>{loadingView.value ? "Loading the hold…" : "Choose a hold from the queue to see its record."}</p>
      </section>
    );
  }
  const { hold, audit, box, readings, readingsProblem, replacements } = current;
  const x = hold.excursion;
  const decided = hold.decision !== null;
  const ageMs = clock.value.now(tick.value) - Date.parse(hold.placed_at);
  return (
    <section class="record" aria-labelledby="record-title" data-testid="hold-record" data-hold-id={hold.id} data-decision={hold.decision ?? "open"}>
      <header class="record-head">
        <div>
          <h2 id="record-title">
            Hold #{hold.id} · {reasonLabel(hold.reason)}
          </h2>
          <p class="muted">
            Placed {dateTime(hold.placed_at)} by {hold.placed_by}
            {decided ? "" : ` · waiting ${holdAge(ageMs)}`}
            {hold.reason_note ? ` · ${hold.reason_note}` : ""}
          </p>
        </div>
        {decided ? (
          <p class={`decision decision-${hold.decision}`} data-testid="decision" role="status">
            {hold.decision === "rejected" ? "Rejected" : "Released"} by {hold.decided_by} at {dateTime(hold.decided_at)}
          </p>
        ) : (
          <div class="decide">
            <button type="button" class="primary" onClick={() => (pending.value = "release")} data-testid="release">
              Release…
            </button>
            <button type="button" class="danger" onClick={() => (pending.value = "reject")} data-testid="reject">
              Reject…
            </button>
          </div>
        )}
      </header>

      {replacements.length > 0 && (
        <section class="card replacements" aria-labelledby="replacements-title" data-testid="replacements">
          <h3 id="replacements-title">Replacement orders created</h3>
          <ul>
            {replacements.map((id) => (
              <li key={id} data-testid="replacement-order" data-order-id={id}>
                <code>{id}</code> — sourced again; dispatch plans it like any new order.
              </li>
            ))}
          </ul>
        </section>
      )}

      <section class="card" aria-labelledby="orders-title">
        <h3 id="orders-title">Orders held ({hold.order_ids.length})</h3>
        <ul class="ids" data-testid="held-orders">
          {hold.order_ids.map((id) => (
            <li key={id}>
              <code>{id}</code>
            </li>
          ))}
        </ul>
      </section>

      {x ? (
        <section class="card" aria-labelledby="excursion-title">
          <h3 id="excursion-title">Excursion #{x.id} on box {x.box_id}</h3>
          {x.retracted_at && (
            <p class="notice">Late readings showed this excursion did not happen (retracted {dateTime(x.retracted_at)}).</p>
          )}
          <ExcursionFacts x={x} />
          {readings ? (
            <TemperatureChart readings={readings} startedAt={x.started_at} endedAt={x.ended_at} />
          ) : (
            <p class="notice" data-testid="chart-problem">
              {readingsProblem ? `The readings could not be loaded: ${readingsProblem}` : "Loading readings…"}
            </p>
          )}
          <p class="muted small">
            MKT uses ΔH = {x.mkt_delta_h_kj_per_mol} kJ/mol; it never excuses a freeze, so check the coldest reading too.
          </p>
        </section>
      ) : (
        <section class="card">
          <h3>No excursion</h3>
          <p class="muted">This hold was placed by a person, not by the cold chain.</p>
        </section>
      )}

      {box && <BoxStatus box={box} onClear={() => (pending.value = "clear")} />}
      <AuditTrail entries={audit} />

      {pending.value === "release" && (
        <ConfirmDialog
          title={`Release hold #${hold.id}?`}
          confirmLabel="Release the goods"
          noteLabel="Note"
          noteRequired={false}
          onConfirm={(note) => releaseHold(hold.id, note)}
          onClose={() => (pending.value = null)}
        >
          <p>
            The goods are judged fit:{" "}
            {hold.order_ids.length === 1
              ? "the held order resumes where it was."
              : `the ${hold.order_ids.length} held orders resume where they were.`}
          </p>
        </ConfirmDialog>
      )}
      {pending.value === "reject" && (
        <ConfirmDialog
          title={`Reject hold #${hold.id}?`}
          confirmLabel="Reject and replace"
          noteLabel="Why the goods are unfit"
          noteRequired
          danger
          onConfirm={async (note) => {
            await rejectHold(hold.id, note);
          }}
          onClose={() => (pending.value = null)}
        >
          <p>
            The goods are written off, the held orders fail, and a replacement order is created for each one. This cannot be
            undone.
          </p>
        </ConfirmDialog>
      )}
      {pending.value === "clear" && box && (
        <ConfirmDialog
          title={`Clear the quarantine of box ${box.id}?`}
          confirmLabel="Put back into cold service"
          noteLabel="Note"
          noteRequired={false}
          onConfirm={(note) => clearBox(box.id, note)}
          onClose={() => (pending.value = null)}
        >
          <p>The box will take cold-chain orders again.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

// The holds queue: oldest first, each with its reason, box, orders and age.
import type { HoldRead } from "../api/types";
import { clock, holds, selectedId, tick } from "./store";
import { ageLevel, holdAge, reasonLabel, sortQueue } from "./queue";
import { selectHold } from "./sync";

export function HoldQueue() {
  const queue = sortQueue<HoldRead>(holds.value.values());
  const now = clock.value.now(tick.value);
  return (
    <section class="queue" aria-labelledby="queue-title">
      <h2 id="queue-title">
        Holds waiting <span class="count" data-testid="queue-count">{queue.length}</span>
      </h2>
      {queue.length === 0 ? (
        <p class="empty" data-testid="queue-empty">
          Nothing is waiting for a decision.
        </p>
      ) : (
        <ul class="queue-list" data-testid="holds-queue">
          {queue.map((hold) => {
            const ageMs = now - Date.parse(hold.placed_at);
            const selected = selectedId.value === hold.id;
            return (
              <li key={hold.id}>
                <button
                  type="button"
                  class="queue-row"
                  aria-current={selected ? "true" : undefined}
                  onClick={() => selectHold(hold.id)}
                  data-testid="hold-row"
                  data-hold-id={hold.id}
                  data-reason={hold.reason}
                >
                  <span class="queue-main">
                    <strong>{reasonLabel(hold.reason)}</strong>
                    <span class={`age age-${ageLevel(ageMs)}`} data-testid="hold-age">
                      {holdAge(ageMs)}
                    </span>
                  </span>
                  <span class="queue-meta">
                    Hold #{hold.id}
                    {hold.box_id ? ` · box ${hold.box_id}` : ""} · {hold.order_ids.length} order
                    {hold.order_ids.length === 1 ? "" : "s"}
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

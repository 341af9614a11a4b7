// A measuring hook for benchmarks/live_map.py: the benchmark installs
// `window.rxdProbe` before the page loads; in use it is absent and costs a
// property read per positions frame and per source flush.

export interface LiveProbe {
  /** A positions frame arrived: the server's send time (ISO 8601) and its fixes. */
  positions(serverTs: string, fixes: number): void;
  /** A map source is about to be handed new data (called just before `setData`). */
  flushing(sourceId: string): void;
  /** The riders' markers were moved to the fixes received so far (DOM, not a source). */
  moved(): void;
}

declare global {
  interface Window {
    rxdProbe?: LiveProbe;
  }
}

export function liveProbe(): LiveProbe | undefined {
  return typeof window === "undefined" ? undefined : window.rxdProbe;
}

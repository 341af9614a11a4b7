// Business time in the browser. The server's clock may run warped (the demo
// plays a day at 30x), so lateness and fix ages use the server's business time,
// extrapolated at its speed from the moment the page asked for it.

export interface ClockSample {
  /** Business time at the server when sampled (ISO 8601). */
  now: string;
  /** Business seconds per wall second. */
  speed: number;
}

export class BusinessClock {
  private readonly anchorBusinessMs: number;
  private readonly anchorWallMs: number;
  readonly speed: number;

  constructor(sample: ClockSample | null, wallNowMs: number = Date.now()) {
    const parsed = sample ? Date.parse(sample.now) : Number.NaN;
    this.anchorBusinessMs = Number.isFinite(parsed) ? parsed : wallNowMs;
    this.anchorWallMs = wallNowMs;
    this.speed = sample && sample.speed > 0 ? sample.speed : 1;
  }

  /** Business time now, in epoch milliseconds. */
  now(wallNowMs: number = Date.now()): number {
    return this.anchorBusinessMs + (wallNowMs - this.anchorWallMs) * this.speed;
  }

  /** Wall-clock milliseconds since a business instant (how old a fix really is). */
  wallAgeMs(businessMs: number, wallNowMs: number = Date.now()): number {
    return (this.now(wallNowMs) - businessMs) / this.speed;
  }
}

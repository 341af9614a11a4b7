"""A cold box's air temperature: insulation, phase-change packs, lid openings.

One lumped heat capacity ``C`` exchanges heat with the ambient air through the
insulation (conductance ``UA``, plus the lid's while it is open) and with the
phase-change packs (coupling ``k``) while they still have latent heat:

    C dT/dt = UA_eff (T_amb - T) - k (T - T_melt)        (packs not yet melted)
    C dT/dt = UA_eff (T_amb - T)                         (packs exhausted)

Each step is solved exactly (exponential relaxation), so any step length is
stable. The packs absorb ``k (T - T_melt)`` until the latent budget is spent,
which holds the box near ``T_melt`` for hours; after that it relaxes toward the
ambient with time constant ``C / UA``. Riders swap in fresh packs at pharmacies.
Ambient follows the hour of the day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from simulator.scenario import BoxFailureMode, ColdChainRule, ThermalParams

__all__ = ["ColdBoxThermal", "ExcursionTruth", "ambient_c"]


def ambient_c(params: ThermalParams, local_hour: float) -> float:
    """Outdoor temperature at a local hour: a daily cosine peaking mid-afternoon."""
    phase = 2 * math.pi * (local_hour - params.ambient_peak_hour) / 24
    return params.ambient_mean_c + params.ambient_amplitude_c * math.cos(phase)


@dataclass
class ColdBoxThermal:
    """Thermal state of one box (air temperature and latent heat left)."""

    params: ThermalParams
    temp_c: float = field(init=False)
    latent_left_j: float = field(init=False)
    failure: BoxFailureMode | None = None

    def __post_init__(self) -> None:
        self.temp_c = self.params.initial_c
        self.latent_left_j = self.params.pcm_latent_kj * 1000

    def fail(self, mode: BoxFailureMode) -> None:
        """Inject a failure from now on (ground truth is kept by the caller)."""
        self.failure = mode
        if mode is BoxFailureMode.PCM_EXHAUSTED:
            self.latent_left_j = 0.0

    def swap_packs(self) -> None:
        """Fresh conditioned packs (at a pharmacy); a failed box stays failed."""
        if self.failure is not BoxFailureMode.PCM_EXHAUSTED:
            self.latent_left_j = self.params.pcm_latent_kj * 1000

    @property
    def lid_open_forced(self) -> bool:
        """Whether the failure keeps the lid open (the sensor reports it)."""
        return self.failure is BoxFailureMode.LID_LEFT_OPEN

    def step(self, dt_s: float, ambient: float, *, door_open: bool = False) -> float:
        """Advance ``dt_s`` seconds at ``ambient`` °C; return the new temperature."""
        if dt_s <= 0:
            return self.temp_c
        ua = self.params.ua_w_per_k
        if self.failure is BoxFailureMode.SEAL:
            ua *= self.params.seal_failure_factor
        if door_open or self.lid_open_forced:
            ua += self.params.door_ua_w_per_k
        k = self.params.pcm_coupling_w_per_k if self.latent_left_j > 0 else 0.0
        absorbed = self._pcm_heat_j(dt_s, ambient, ua, k)
        if k > 0 and absorbed > self.latent_left_j:
            # Packs run out inside this step: melt what is left, then go on without.
            melt_s = dt_s * self.latent_left_j / absorbed
            self._relax(melt_s, ambient, ua, k)
            self.latent_left_j = 0.0
            self._relax(dt_s - melt_s, ambient, ua, 0.0)
            return self.temp_c
        self._relax(dt_s, ambient, ua, k)
        if k > 0:
            capacity = self.params.pcm_latent_kj * 1000
            self.latent_left_j = min(capacity, self.latent_left_j - absorbed)
        return self.temp_c

    def _target(self, ambient: float, ua: float, k: float) -> tuple[float, float]:
        """Equilibrium temperature and time constant for one regime."""
        total = ua + k
        if total <= 0:
            return self.temp_c, math.inf
        target = (ua * ambient + k * self.params.pcm_melt_c) / total
        return target, self.params.heat_capacity_j_per_k / total

    def _pcm_heat_j(self, dt_s: float, ambient: float, ua: float, k: float) -> float:
        """Heat the packs take over ``dt_s`` (negative: they refreeze)."""
        if k <= 0:
            return 0.0
        target, tau = self._target(ambient, ua, k)
        settled = (target - self.params.pcm_melt_c) * dt_s
        transient = (self.temp_c - target) * tau * (1 - math.exp(-dt_s / tau))
        return k * (settled + transient)

    def _relax(self, dt_s: float, ambient: float, ua: float, k: float) -> None:
        target, tau = self._target(ambient, ua, k)
        if math.isfinite(tau):
            self.temp_c = target + (self.temp_c - target) * math.exp(-dt_s / tau)


@dataclass
class ExcursionTruth:
    """Ground truth of a box's true temperature against its cold-chain rule.

    ``exits`` are the intervals spent outside the range (an exit ends once the
    temperature is the rule's hysteresis back inside, as the engine's detector
    does); ``excursions`` start when the rule trips (out of range continuously
    for the single-event delay, or for the cumulative budget over all exits) and
    end with their exit.
    """

    rule: ColdChainRule
    exits: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    excursions: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    out_of_range_s: float = 0.0
    _last_at: datetime | None = None

    @property
    def in_excursion(self) -> bool:
        """Whether an excursion is going on now."""
        return bool(self.excursions) and self.excursions[-1][1] is None

    def observe(self, at: datetime, temp_c: float) -> None:
        """Record the true temperature at ``at`` (calls in time order)."""
        rule = self.rule
        exiting = bool(self.exits) and self.exits[-1][1] is None
        if exiting and self._last_at is not None:
            self.out_of_range_s += (at - self._last_at).total_seconds()
        self._last_at = at
        if not exiting and not rule.low_c <= temp_c <= rule.high_c:
            self.exits.append((at, None))
            exiting = True
        elif exiting and (
            rule.low_c + rule.hysteresis_c <= temp_c <= rule.high_c - rule.hysteresis_c
        ):
            self.exits[-1] = (self.exits[-1][0], at)
            if self.in_excursion:
                self.excursions[-1] = (self.excursions[-1][0], at)
            exiting = False
        if exiting and not self.in_excursion:
            since_s = (at - self.exits[-1][0]).total_seconds()
            if (
                since_s >= rule.single_event_delay_s
                or self.out_of_range_s >= rule.cumulative_budget_s
            ):
                self.excursions.append((at, None))

"""What every dispatch command needs besides the database (built at entry)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from dispatch.crypto import PatientDataCipher
from dispatch.delivery.proof_rules import JURISDICTION_POLICIES, ProofPolicy
from dispatch.dev_secrets import reveal
from dispatch.geo import ServiceArea
from dispatch.ports import Notifier
from dispatch.settings import DispatchSettings

__all__ = ["DispatchContext", "DispatchPolicy", "SourcingPolicy"]

SourcingPolicy = Literal["joint", "nearest"]
DispatchPolicy = Literal["optimised", "greedy"]


def _default_notifier() -> Notifier:
    from dispatch.adapters.outbox import OutboxNotifier

    return OutboxNotifier()


@dataclass(frozen=True)
class DispatchContext:
    """Secrets, policies and collaborators shared by every command."""

    cipher: PatientDataCipher
    otp_pepper: bytes
    audit_key: bytes = b""
    """HMAC key of the audit chain (``DISPATCH_AUDIT_KEY``); auditing refuses to
    write without one."""
    proof_policy: ProofPolicy = field(
        default_factory=lambda: JURISDICTION_POLICIES["default"]
    )
    service_area: ServiceArea | None = None
    """None: accept any coordinates."""
    otp_ttl_s: int = 4 * 3600
    otp_max_attempts: int = 5
    notifier: Notifier = field(default_factory=_default_notifier)
    sourcing_policy: SourcingPolicy = "joint"
    """``joint``: the router picks among candidates; ``nearest``: the baseline."""
    dispatch_policy: DispatchPolicy = "optimised"
    """``optimised``: continuous re-planning; ``greedy``: the baseline dispatcher."""
    max_candidates: int = 3
    """Candidate pharmacies per order offered to the router (nearest first)."""

    def __post_init__(self) -> None:
        if self.dispatch_policy == "greedy" and self.sourcing_policy == "joint":
            raise ValueError("the greedy dispatcher sources from the nearest pharmacy")

    @classmethod
    def from_settings(
        cls,
        settings: DispatchSettings,
        *,
        service_area: ServiceArea | None = None,
        notifier: Notifier | None = None,
    ) -> DispatchContext:
        """Build from deployment settings (service area defaults to theirs)."""
        base = JURISDICTION_POLICIES.get(settings.jurisdiction)
        if base is None:
            raise ValueError(f"unknown jurisdiction {settings.jurisdiction!r}")
        policy = ProofPolicy(
            jurisdiction=base.jurisdiction,
            id_check_schedules=base.id_check_schedules,
            schedules=base.schedules,
            radius_m=settings.pod_radius_m,
            outside_radius=settings.pod_outside_radius,
        )
        area = service_area or settings.resolve_service_area()
        return cls(
            cipher=PatientDataCipher(reveal(settings.data_key, "DISPATCH_DATA_KEY")),
            otp_pepper=reveal(settings.otp_pepper, "DISPATCH_OTP_PEPPER").encode(),
            audit_key=reveal(settings.audit_key, "DISPATCH_AUDIT_KEY").encode(),
            proof_policy=policy,
            service_area=area,
            otp_ttl_s=settings.otp_ttl_s,
            otp_max_attempts=settings.otp_max_attempts,
            notifier=notifier or _default_notifier(),
            sourcing_policy=settings.effective_sourcing_policy(),
            dispatch_policy=settings.policy,
            max_candidates=settings.max_candidate_pharmacies,
        )

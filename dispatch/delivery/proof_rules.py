"""Proof-of-delivery rules (pure): OTP hashing and checking, proof level, ID checks.

Only an HMAC-SHA256 of the OTP (keyed with the server-side pepper and bound to the
order id) is stored; comparison is constant time (:func:`hmac.compare_digest`). An
OTP expires, is single use, and is locked after ``max_attempts`` wrong codes.
Controlled substances additionally need an ID-check attestation (document type and
last digits, never an image) and a signature; which schedules need it is set per
jurisdiction by a :class:`ProofPolicy`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Literal

from dispatch.domain import Product
from dispatch.errors import (
    InvalidInput,
    OtpAlreadyUsed,
    OtpExpired,
    OtpLocked,
    ProofIncomplete,
)
from dispatch.orders.order import ProofLevel

__all__ = [
    "INDIA_SCHEDULES",
    "JURISDICTION_POLICIES",
    "OTP_DIGITS",
    "UN_SCHEDULES",
    "US_SCHEDULES",
    "IdCheck",
    "OtpState",
    "OtpVerdict",
    "ProofPolicy",
    "check_proof_inputs",
    "generate_otp",
    "hash_otp",
    "required_proof_level",
    "verify_otp",
]

OTP_DIGITS = 6
OutsideRadiusAction = Literal["refuse", "flag"]
DocumentType = Literal["passport", "national_id", "driving_licence", "residence_permit"]
DOCUMENT_TYPES: frozenset[str] = frozenset(
    {"passport", "national_id", "driving_licence", "residence_permit"}
)


def generate_otp() -> str:
    """A fresh random numeric OTP (CSPRNG)."""
    return f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"


def hash_otp(otp: str, *, order_id: str, pepper: bytes) -> str:
    """Keyed hash of ``otp`` for ``order_id`` (hex); the only form that is stored."""
    message = f"{order_id}:{otp}".encode()
    return hmac.new(pepper, message, hashlib.sha256).hexdigest()


class OtpVerdict(StrEnum):
    """Outcome of checking a code against a usable OTP."""

    ACCEPTED = "accepted"
    MISMATCH = "mismatch"
    LOCKED_NOW = "locked_now"


@dataclass(frozen=True, slots=True)
class OtpState:
    """The stored side of an OTP."""

    code_hash: str
    issued_at: datetime
    expires_at: datetime
    attempts: int = 0
    used_at: datetime | None = None
    locked_at: datetime | None = None


def verify_otp(
    state: OtpState,
    candidate: str,
    *,
    order_id: str,
    pepper: bytes,
    now: datetime,
    max_attempts: int,
) -> tuple[OtpState, OtpVerdict]:
    """Check ``candidate``; return the state to store and the verdict.

    Raises :class:`OtpAlreadyUsed` (replay), :class:`OtpLocked` or
    :class:`OtpExpired` without counting an attempt. A wrong code counts; the
    ``max_attempts``-th wrong code locks the OTP (verdict ``LOCKED_NOW``).
    """
    if state.used_at is not None:
        raise OtpAlreadyUsed(f"the code for order {order_id!r} was already used")
    if state.locked_at is not None:
        raise OtpLocked(f"the code for order {order_id!r} is locked")
    if now >= state.expires_at:
        raise OtpExpired(f"the code for order {order_id!r} has expired")
    expected = state.code_hash.encode()
    # hash whatever was typed so timing does not depend on its shape either
    given = hash_otp(candidate.strip(), order_id=order_id, pepper=pepper).encode()
    if hmac.compare_digest(expected, given):
        return replace(state, used_at=now), OtpVerdict.ACCEPTED
    attempts = state.attempts + 1
    if attempts >= max_attempts:
        return replace(state, attempts=attempts, locked_at=now), OtpVerdict.LOCKED_NOW
    return replace(state, attempts=attempts), OtpVerdict.MISMATCH


#: Controlled-drug schedules per jurisdiction, where they come from:
#: - UN: the schedules I-IV of the 1961 Single Convention on Narcotic Drugs and the
#:   1971 Convention on Psychotropic Substances, which EU member states implement
#:   in national law (Malta: the Drug Dependence (Misuse) Ordinance, Cap. 101, and
#:   the Medicines Act, Cap. 458), so the bundled city's (``mt``) schedules;
#: - US: 21 CFR 1308.11-1308.15, schedules CI-CV of the Controlled Substances Act;
#: - India: the Drugs Rules, 1945, Schedules H, H1 and X.
UN_SCHEDULES = frozenset({"I", "II", "III", "IV"})
US_SCHEDULES = frozenset({"CI", "CII", "CIII", "CIV", "CV"})
INDIA_SCHEDULES = frozenset({"H", "H1", "X"})


@dataclass(frozen=True, slots=True)
class ProofPolicy:
    """Which controlled schedules exist, which need an ID check + signature, and
    the radius rule."""

    jurisdiction: str
    id_check_schedules: frozenset[str] | None = None
    """Schedules needing an ID check; None means every controlled schedule."""
    radius_m: float = 150.0
    outside_radius: OutsideRadiusAction = "refuse"
    schedules: frozenset[str] = UN_SCHEDULES | US_SCHEDULES | INDIA_SCHEDULES
    """The schedule codes a product may carry here (an enumeration: anything else
    is refused at registration, so a misspelling cannot drop the ID check)."""

    def schedule_of(self, value: str | None) -> str | None:
        """The canonical schedule code of ``value`` (trimmed, upper case; None or
        empty: not controlled); :class:`InvalidInput` naming the allowed codes
        if it is not one of this jurisdiction's."""
        if value is None or not value.strip():
            return None
        code = value.strip().upper()
        if code not in self.schedules:
            allowed = ", ".join(sorted(self.schedules))
            raise InvalidInput(
                f"controlled_schedule must be one of {allowed} "
                f"(jurisdiction {self.jurisdiction})",
                field="controlled_schedule",
            )
        return code

    def needs_id_check(self, product: Product) -> bool:
        """Whether handing over ``product`` needs an ID check and signature. A
        schedule this jurisdiction does not know (a row stored before schedules
        were checked) fails safe: it needs the check."""
        if not product.is_controlled:
            return False
        if self.id_check_schedules is None:
            return True
        code = (product.controlled_schedule or "").strip().upper()
        return code not in self.schedules or code in self.id_check_schedules


JURISDICTION_POLICIES: dict[str, ProofPolicy] = {
    "default": ProofPolicy("default"),
    "mt": ProofPolicy("mt", schedules=UN_SCHEDULES),
    "us": ProofPolicy(
        "us", frozenset({"CII", "CIII", "CIV", "CV"}), schedules=US_SCHEDULES
    ),
    "us-nc": ProofPolicy("us-nc", frozenset({"CII"}), schedules=US_SCHEDULES),
    "in": ProofPolicy("in", frozenset({"H1", "X"}), schedules=INDIA_SCHEDULES),
}
"""Built-in policies; ``DispatchSettings.jurisdiction`` picks one. ``default``
accepts every known schedule code (still an enumeration) and checks ID for all."""


def required_proof_level(
    products: Iterable[Product],
    policy: ProofPolicy,
    requested: ProofLevel | None = None,
) -> ProofLevel:
    """Strictest of what the products need and what was requested."""
    level = ProofLevel.OTP
    if any(policy.needs_id_check(p) for p in products):
        level = ProofLevel.OTP_ID_SIGNATURE
    if requested is not None and requested.rank > level.rank:
        level = requested
    return level


@dataclass(frozen=True, slots=True)
class IdCheck:
    """Attestation that the rider checked an ID: document type and last digits only."""

    document_type: str
    last_digits: str

    def __post_init__(self) -> None:
        if self.document_type not in DOCUMENT_TYPES:
            raise InvalidInput(
                "document_type must be one of " + ", ".join(sorted(DOCUMENT_TYPES))
            )
        if not (self.last_digits.isalnum() and 2 <= len(self.last_digits) <= 4):
            raise InvalidInput("last_digits must be 2-4 letters or digits")


def check_proof_inputs(
    level: ProofLevel, id_check: IdCheck | None, signature: str | None
) -> None:
    """Raise :class:`ProofIncomplete` if ``level`` needs what was not given."""
    if level is ProofLevel.OTP_ID_SIGNATURE:
        if id_check is None:
            raise ProofIncomplete("this delivery needs an ID-check attestation")
        if not signature or not signature.strip():
            raise ProofIncomplete("this delivery needs the recipient's signature")
    if signature is not None and len(signature) > 20_000:
        raise InvalidInput("signature is too large")

"""OTP rules and proof levels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.delivery.proof_rules import (
    JURISDICTION_POLICIES,
    IdCheck,
    OtpState,
    OtpVerdict,
    check_proof_inputs,
    generate_otp,
    hash_otp,
    required_proof_level,
    verify_otp,
)
from dispatch.domain import Product, Sku
from dispatch.errors import (
    InvalidInput,
    OtpAlreadyUsed,
    OtpExpired,
    OtpLocked,
    ProofIncomplete,
)
from dispatch.orders.order import ProofLevel

NOW = datetime(2026, 11, 21, 10, tzinfo=UTC)
PEPPER = b"pepper"


def state(code="123456", **kw):
    return OtpState(
        hash_otp(code, order_id="o1", pepper=PEPPER),
        NOW,
        NOW + timedelta(hours=1),
        **kw,
    )


def check(s, code, now=NOW):
    return verify_otp(s, code, order_id="o1", pepper=PEPPER, now=now, max_attempts=5)


def test_generated_otps_are_six_digits_and_vary():
    """Codes are 6 digits from a CSPRNG."""
    codes = {generate_otp() for _ in range(50)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 40


def test_hash_depends_on_pepper_and_order_and_hides_the_code():
    """The stored hash is keyed and bound to the order."""
    h = hash_otp("123456", order_id="o1", pepper=PEPPER)
    assert "123456" not in h
    assert h != hash_otp("123456", order_id="o2", pepper=PEPPER)
    assert h != hash_otp("123456", order_id="o1", pepper=b"other")


def test_right_code_is_accepted_once():
    """Acceptance marks the OTP used; using it again is a replay."""
    used, verdict = check(state(), "123456")
    assert verdict is OtpVerdict.ACCEPTED
    assert used.used_at == NOW
    with pytest.raises(OtpAlreadyUsed):
        check(used, "123456")


def test_fifth_wrong_code_locks():
    """Four wrong codes count down; the fifth locks; then even the right one fails."""
    s = state()
    for expected in range(1, 5):
        s, verdict = check(s, "000000")
        assert verdict is OtpVerdict.MISMATCH
        assert s.attempts == expected
    s, verdict = check(s, "000000")
    assert verdict is OtpVerdict.LOCKED_NOW
    assert s.locked_at == NOW
    with pytest.raises(OtpLocked):
        check(s, "123456")


def test_expired_code_is_refused_without_counting():
    """At or after expiry the code fails and no attempt is used."""
    with pytest.raises(OtpExpired):
        check(state(), "123456", now=NOW + timedelta(hours=1))


def test_garbage_input_counts_as_a_wrong_code():
    """Non-numeric input is just a wrong code."""
    s, verdict = check(state(), "abc")
    assert verdict is OtpVerdict.MISMATCH
    assert s.attempts == 1


def test_proof_level_follows_schedule_and_jurisdiction():
    """CII needs ID in the US; only CII in North Carolina; H1 in India."""
    cii = Product(Sku("M"), "m", controlled_schedule="CII")
    civ = Product(Sku("D"), "d", controlled_schedule="CIV")
    plain = Product(Sku("P"), "p")
    us, nc = JURISDICTION_POLICIES["us"], JURISDICTION_POLICIES["us-nc"]
    assert required_proof_level([plain], us) is ProofLevel.OTP
    assert required_proof_level([plain, cii], us) is ProofLevel.OTP_ID_SIGNATURE
    assert required_proof_level([civ], nc) is ProofLevel.OTP
    assert required_proof_level([civ], us) is ProofLevel.OTP_ID_SIGNATURE
    assert (
        required_proof_level([plain], us, ProofLevel.OTP_ID_SIGNATURE)
        is ProofLevel.OTP_ID_SIGNATURE
    )


def test_id_check_stores_only_type_and_last_digits():
    """Only known document types and 2-4 trailing characters are accepted."""
    IdCheck("passport", "12A")
    with pytest.raises(InvalidInput):
        IdCheck("photo", "123")
    with pytest.raises(InvalidInput):
        IdCheck("passport", "123456789")


def test_strong_proof_needs_id_and_signature():
    """OTP+ID+signature refuses missing parts."""
    with pytest.raises(ProofIncomplete):
        check_proof_inputs(ProofLevel.OTP_ID_SIGNATURE, None, "sig")
    with pytest.raises(ProofIncomplete):
        check_proof_inputs(ProofLevel.OTP_ID_SIGNATURE, IdCheck("passport", "12"), "")
    check_proof_inputs(ProofLevel.OTP, None, None)


def test_schedules_are_an_enumeration_per_jurisdiction() -> None:
    """Issue 20: a misspelt schedule was stored and silently dropped the ID check."""
    from dispatch.delivery.proof_rules import JURISDICTION_POLICIES
    from dispatch.errors import InvalidInput

    us = JURISDICTION_POLICIES["us"]
    assert us.schedule_of(" cii ") == "CII"
    assert us.schedule_of(None) is None
    assert us.schedule_of("") is None
    for typo in ("C-II", "C2", "II", "schedule 2"):
        with pytest.raises(InvalidInput, match="CI, CII, CIII, CIV, CV") as info:
            us.schedule_of(typo)
        assert info.value.field == "controlled_schedule"
    mt = JURISDICTION_POLICIES["mt"]
    assert mt.schedule_of("ii") == "II"
    with pytest.raises(InvalidInput, match="I, II, III, IV"):
        mt.schedule_of("CII")


def test_an_unknown_stored_schedule_fails_safe() -> None:
    """A row stored before the check, with a code the jurisdiction does not know,
    needs the ID check rather than none."""
    from dispatch.delivery.proof_rules import JURISDICTION_POLICIES

    us_nc = JURISDICTION_POLICIES["us-nc"]
    assert us_nc.needs_id_check(Product(Sku("A"), "a", controlled_schedule="CII"))
    assert not us_nc.needs_id_check(Product(Sku("B"), "b", controlled_schedule="CIV"))
    assert us_nc.needs_id_check(Product(Sku("C"), "c", controlled_schedule="C-II"))
    assert not us_nc.needs_id_check(Product(Sku("D"), "d"))

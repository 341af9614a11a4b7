"""Order request validation, patient-data encryption, service area, error codes."""

from __future__ import annotations

import inspect
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

import dispatch.errors as errors_module
from dispatch.crypto import PatientDataCipher, UndecryptableData
from dispatch.domain import GeoPoint, Sku
from dispatch.errors import (
    DispatchError,
    InvalidInput,
    InvalidQuantity,
    InvalidTimeWindow,
    OutsideServiceArea,
)
from dispatch.geo import ServiceArea, haversine_m
from dispatch.orders.order import OrderLine, OrderRequest, PatientContact

NOW = datetime(2026, 11, 21, 10, tzinfo=UTC)
CONTACT = PatientContact("Maria Borg", "+356 7900 0000", "12 Triq il-Merkanti")


def request(**kw) -> OrderRequest:
    base = OrderRequest(
        "pt-1",
        CONTACT,
        GeoPoint(35.9, 14.5),
        (OrderLine(Sku("A"), 1),),
        NOW + timedelta(hours=1),
        NOW + timedelta(hours=2),
        "key-1",
    )
    return replace(base, **kw)


@pytest.mark.parametrize("qty", [0, -1, 10_001, 1.5, True])
def test_bad_quantities_are_refused(qty):
    """Zero, negative, huge, fractional and boolean quantities raise."""
    with pytest.raises(InvalidQuantity):
        OrderLine(Sku("A"), qty)


def test_windows_must_be_future_ordered_and_aware():
    """Past, inverted and naive windows raise typed errors."""
    with pytest.raises(InvalidTimeWindow):
        request(window_end_at=NOW).validate(now=NOW)
    with pytest.raises(InvalidTimeWindow):
        request(window_start_at=NOW + timedelta(hours=3)).validate(now=NOW)
    with pytest.raises(InvalidInput):
        request(window_start_at=datetime(2026, 11, 21, 11)).validate(now=NOW)
    request().validate(now=NOW)


def test_duplicate_skus_are_refused():
    """Each SKU appears once."""
    lines = (OrderLine(Sku("A"), 1), OrderLine(Sku("A"), 2))
    with pytest.raises(InvalidInput):
        request(lines=lines).validate(now=NOW)


def test_contact_is_encrypted_bound_to_its_order_and_never_printed():
    """Ciphertext hides the name, fails on another order or key, and repr redacts."""
    cipher = PatientDataCipher("a-test-key-that-is-long-enough")
    blob = cipher.encrypt_contact(CONTACT, owner="order-1")
    assert b"Maria" not in blob
    assert cipher.decrypt_contact(blob, owner="order-1") == CONTACT
    with pytest.raises(UndecryptableData):
        cipher.decrypt_contact(blob, owner="order-2")
    with pytest.raises(UndecryptableData):
        PatientDataCipher("another-key-that-is-long-enough").decrypt(
            blob, owner="order-1"
        )
    assert "Maria" not in repr(CONTACT)


def test_service_area_bbox_and_polygon():
    """Points outside the configured area raise OutsideServiceArea."""
    area = ServiceArea.from_bbox(35.78, 14.17, 36.09, 14.59)
    area.require(GeoPoint(35.9, 14.5))
    with pytest.raises(OutsideServiceArea):
        area.require(GeoPoint(51.5, -0.1))
    tri = ServiceArea.from_lonlat_ring([(14.0, 35.0), (15.0, 35.0), (14.5, 36.0)])
    assert tri.contains(GeoPoint(35.2, 14.5))
    assert not tri.contains(GeoPoint(35.9, 14.05))


def test_haversine_matches_a_known_distance():
    """Valletta to Mdina is about 10 km."""
    assert (
        9_000
        < haversine_m(GeoPoint(35.8989, 14.5146), GeoPoint(35.8859, 14.4035))
        < 11_000
    )


def test_error_codes_are_unique_snake_case_and_under_a_mapped_base():
    """Every error has its own code and one of the five API bases."""
    classes = [
        c
        for _, c in inspect.getmembers(errors_module, inspect.isclass)
        if issubclass(c, DispatchError)
        and c is not DispatchError
        and not c.__name__.startswith("_")
    ]
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))
    assert all(code.replace("_", "").isalpha() and code.islower() for code in codes)
    bases = {"NotFound", "Conflict", "RuleViolation", "TooManyAttempts", "Unavailable"}
    assert all(bases & {b.__name__ for b in c.__mro__} for c in classes)

"""A pharmacy's time zone is checked by the domain type itself (issue 20): a zone
the host does not know would stop every plan that offers the pharmacy."""

from __future__ import annotations

import pytest

from dispatch.domain import GeoPoint, Pharmacy, PharmacyId, require_timezone
from dispatch.errors import InvalidInput

POINT = GeoPoint(35.8989, 14.5146)


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "europe/malta", "", "../etc/passwd", "localtime", "x" * 65]
)
def test_a_pharmacy_refuses_a_zone_the_host_does_not_know(zone: str) -> None:
    with pytest.raises(InvalidInput, match="timezone"):
        Pharmacy(PharmacyId("ph-1"), "Valletta", POINT, "LIC-1", timezone=zone)


@pytest.mark.parametrize("zone", ["Europe/Malta", "UTC", "America/Argentina/Salta"])
def test_iana_zones_are_accepted(zone: str) -> None:
    pharmacy = Pharmacy(PharmacyId("ph-1"), "Valletta", POINT, "LIC-1", timezone=zone)
    assert pharmacy.timezone == zone
    assert require_timezone(zone) == zone


def test_the_message_names_the_field_not_the_value() -> None:
    with pytest.raises(InvalidInput) as caught:
        require_timezone("Mars/Olympus")
    assert "timezone" in str(caught.value)
    assert "Mars" not in str(caught.value)

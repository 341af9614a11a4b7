"""How a principal is named in dispatch's audit trail."""

from __future__ import annotations

from api.auth.principals import Principal, Role


def actor_of(principal: Principal) -> str:
    """``role:name-or-id`` (ids only for riders and patients)."""
    if principal.role in (Role.rider, Role.patient):
        return f"{principal.role.value}:{principal.subject_id}"
    return f"{principal.role.value}:{principal.display_name or principal.subject_id}"

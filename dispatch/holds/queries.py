"""Reading holds: the open queue, one hold with its decision, and the holds
placed for excursions (by ``excursion_ref``)."""

from __future__ import annotations

from dispatch.adapters.postgres import holds as holds_repo
from dispatch.adapters.postgres.holds import Hold
from dispatch.adapters.postgres.unit_of_work import Tx

__all__ = ["Hold", "get_hold", "holds_for_excursions", "list_open_holds"]


def get_hold(tx: Tx, hold_id: int) -> Hold:
    """One hold (``HoldNotFound`` for an unknown id)."""
    return holds_repo.get_hold(tx, hold_id)


def list_open_holds(tx: Tx) -> list[Hold]:
    """Holds still waiting for a pharmacist's decision, oldest first."""
    return holds_repo.list_open_holds(tx)


def holds_for_excursions(tx: Tx, excursion_refs: list[str]) -> dict[str, Hold]:
    """The hold placed for each of ``excursion_refs`` that has one, by ref."""
    return holds_repo.find_by_excursions(tx, excursion_refs)

"""The order state machine."""

from __future__ import annotations

import pytest

from dispatch.errors import IllegalTransition
from dispatch.orders.order import OrderStatus as S
from dispatch.orders.state_machine import TERMINAL, TRANSITIONS, check_transition

LEGAL = [
    (S.CREATED, S.SOURCED),
    (S.SOURCED, S.ASSIGNED),
    (S.ASSIGNED, S.PICKED_UP),
    (S.PICKED_UP, S.DELIVERED),
    (S.PICKED_UP, S.FAILED),
    (S.CREATED, S.CANCELLED),
    (S.SOURCED, S.CANCELLED),
    (S.ASSIGNED, S.CANCELLED),
    (S.ASSIGNED, S.SOURCED),
    (S.PICKED_UP, S.ON_HOLD),
    (S.SOURCED, S.ON_HOLD),
]


@pytest.mark.parametrize(("current", "target"), LEGAL)
def test_legal_moves_pass(current, target):
    """Every documented move is allowed."""
    check_transition("o", current, target)


@pytest.mark.parametrize("current", sorted(TERMINAL))
@pytest.mark.parametrize("target", list(S))
def test_terminal_states_never_move(current, target):
    """Delivered, failed and cancelled are final."""
    with pytest.raises(IllegalTransition):
        check_transition("o", current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.CREATED, S.ASSIGNED),
        (S.SOURCED, S.PICKED_UP),
        (S.PICKED_UP, S.CANCELLED),
        (S.ASSIGNED, S.DELIVERED),
        (S.CREATED, S.ON_HOLD),
    ],
)
def test_skipping_states_is_refused(current, target):
    """Moves that skip a step raise with both states named."""
    with pytest.raises(IllegalTransition) as info:
        check_transition("order-1", current, target)
    assert info.value.current is current
    assert info.value.target is target
    assert info.value.code == "illegal_transition"


def test_release_must_return_to_the_held_from_state():
    """A held picked-up order resumes as picked up, not as sourced."""
    check_transition("o", S.ON_HOLD, S.PICKED_UP, held_from=S.PICKED_UP)
    with pytest.raises(IllegalTransition):
        check_transition("o", S.ON_HOLD, S.SOURCED, held_from=S.PICKED_UP)


def test_held_goods_outside_the_pharmacy_cannot_be_cancelled():
    """Goods held on a rider end as failed (written off), never cancelled."""
    with pytest.raises(IllegalTransition):
        check_transition("o", S.ON_HOLD, S.CANCELLED, held_from=S.PICKED_UP)
    check_transition("o", S.ON_HOLD, S.CANCELLED, held_from=S.SOURCED)
    check_transition("o", S.ON_HOLD, S.FAILED, held_from=S.PICKED_UP)


def test_every_state_has_an_entry():
    """The table covers every state."""
    assert set(TRANSITIONS) == set(S)

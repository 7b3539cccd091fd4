"""The trade state machine: status moves only forward along the contract's graph."""

from __future__ import annotations

from typing import Final

from tradebot.errors import Conflict

OPEN: Final = frozenset({"NEW", "PARTIALLY_FILLED"})
TERMINAL: Final = frozenset({"FILLED", "CANCELED", "REJECTED", "EXPIRED", "FAILED"})
# On the exchange or maybe on it: what counts against the open-order limits.
MAY_BE_OPEN: Final = frozenset({"PENDING", "RECONCILING"}) | OPEN

# What the exchange can say about an order that we were waiting to hear about.
_EXCHANGE_STATES: Final = frozenset(
    {"NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REJECTED", "EXPIRED"}
)
_NEXT: Final[dict[str, frozenset[str]]] = {
    # RECONCILING: the placement's answer was lost; the order may exist and is looked up.
    "PENDING": _EXCHANGE_STATES | {"FAILED", "RECONCILING"},
    # Found: whatever the exchange says; certainly absent: FAILED "not placed".
    "RECONCILING": _EXCHANGE_STATES | {"FAILED", "RECONCILING"},
    "NEW": frozenset({"NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED", "REJECTED"}),
    "PARTIALLY_FILLED": frozenset({"PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED"}),
}


class IllegalTransition(Conflict):
    """A status change that would move a trade backwards or out of a final state."""


def can_move(current: str, new: str) -> bool:
    """True when `current` -> `new` is allowed (staying in an open state is allowed)."""
    return new in _NEXT.get(current, frozenset())


def check_move(current: str, new: str) -> None:
    """Raise `IllegalTransition` unless `current` -> `new` is allowed."""
    if not can_move(current, new):
        raise IllegalTransition(f"A trade cannot move from {current} to {new}")

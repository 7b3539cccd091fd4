"""The trade state machine: status moves only forward along the contract's graph."""

from __future__ import annotations

from typing import Final

from tradebot.errors import Conflict

OPEN: Final = frozenset({"NEW", "PARTIALLY_FILLED"})
TERMINAL: Final = frozenset({"FILLED", "CANCELED", "REJECTED", "EXPIRED", "FAILED"})

_NEXT: Final[dict[str, frozenset[str]]] = {
    "PENDING": frozenset(
        {"NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REJECTED", "EXPIRED", "FAILED"}
    ),
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

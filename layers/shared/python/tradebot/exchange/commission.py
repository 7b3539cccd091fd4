"""The commission of an order's fills, from a placement answer or from the account trade list.

Both sources list fills with `commission` and `commissionAsset`, so one function sums them and a
fill learned by a look-up is charged exactly as the same fill learned from its placement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from tradebot.exchange.base import Fees


def commission_of(fills: Sequence[Mapping[str, Any]]) -> Fees:
    """Every asset the fills were charged in, with its exact sum; () when there are no fills.

    Binance charges all fills of one order in the same asset as a rule, but not always (the BNB
    discount running out mid-order): then each asset is kept, in the order first listed.
    """
    charged: dict[str, Decimal] = {}
    for fill in fills:
        asset = str(fill["commissionAsset"])
        charged[asset] = charged.get(asset, Decimal(0)) + Decimal(str(fill["commission"]))
    return tuple(charged.items())


def trades_up_to(
    trades: Sequence[Mapping[str, Any]], order_id: str, executed_qty: Decimal
) -> list[Mapping[str, Any]] | None:
    """The order's earliest trades that make up `executed_qty`; None when they fall short.

    The trade list may run ahead of the order look-up it completes (a resting order filling in
    between): trades beyond `executed_qty` belong to the next report, not to this one. It may
    also lag behind it (Binance serves it from memory, then a database): then None.
    """
    mine = sorted(
        (trade for trade in trades if str(trade["orderId"]) == order_id),
        key=lambda trade: int(trade["id"]),
    )
    taken: list[Mapping[str, Any]] = []
    covered = Decimal(0)
    for trade in mine:
        if covered >= executed_qty:
            break
        taken.append(trade)
        covered += Decimal(str(trade["qty"]))
    return taken if covered >= executed_qty else None

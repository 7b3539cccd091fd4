"""The commission of an order's fills, from a placement answer or from the account trade list.

Both sources list fills with `commission` and `commissionAsset`, so one function sums them and a
fill learned by a look-up is charged exactly as the same fill learned from its placement.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

logger = logging.getLogger(__name__)


def commission_of(fills: Sequence[Mapping[str, Any]]) -> tuple[Decimal, str | None]:
    """The fills' commission summed in the first fill's asset, and that asset (None: no fills).

    Binance charges all fills of one order in the same asset as a rule. Should one be charged in
    another (the BNB discount running out mid-order), a trade can record only one fee asset: the
    first one is kept, as Binance listed it, and the rest is logged rather than added up as if
    it were the same asset.
    """
    if not fills:
        return Decimal(0), None
    fee_asset = str(fills[0]["commissionAsset"])
    fee = Decimal(0)
    others: set[str] = set()
    for fill in fills:
        if fill["commissionAsset"] == fee_asset:
            fee += Decimal(str(fill["commission"]))
        else:
            others.add(str(fill["commissionAsset"]))
    if others:
        logger.warning(
            "fills charged in more than one asset; only the first is recorded",
            extra={"fee_asset": fee_asset, "other_assets": sorted(others)},
        )
    return fee, fee_asset


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

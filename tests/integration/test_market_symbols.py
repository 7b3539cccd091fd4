"""GET /api/market/symbols tells a client every filter the order check applies, so the web
ticket can apply them as the trader types instead of learning them from a 422."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

from tradebot.exchange.base import SymbolFilters
from tradebot.exchange.snapshot import load_snapshot_filters
from tradebot.market.symbols import store_filters

from tests.support import call

User = tuple[str, str]
D = Decimal

# Every rule set and none at Binance's usual value, so a field read from the wrong filter shows.
ODD = SymbolFilters(
    symbol="ODDUSDT",
    base_asset="ODD",
    quote_asset="USDT",
    tick_size=D("0.00500000"),
    step_size=D("0.01000000"),
    min_qty=D("0.03000000"),
    max_qty=D("1000.00000000"),
    min_price=D("0.00200000"),
    max_price=D("5000.00000000"),
    min_notional=D("10.00000000"),
    max_notional=D("25000.00000000"),
    apply_min_to_market=False,
    apply_max_to_market=True,
    market_min_qty=D("0.10000000"),
    market_max_qty=D("200.00000000"),
    market_step_size=D("0.10000000"),
    bid_multiplier_up=D("1.2"),
    bid_multiplier_down=D("0.8"),
    ask_multiplier_up=D("1.5"),
    ask_multiplier_down=D("0.5"),
    max_num_orders=50,
    max_num_algo_orders=3,
    quote_precision=2,
)


def _items(token: str) -> dict[str, dict[str, object]]:
    reply = call("market_symbols", token=token)
    assert reply.status == 200
    return {item["symbol"]: item for item in reply.body["items"]}


def test_every_filter_the_order_check_applies_is_listed_as_a_decimal_string(
    trader: User,
) -> None:
    store_filters({"ODDUSDT": ODD})

    assert _items(trader[1]) == {
        "ODDUSDT": {
            "symbol": "ODDUSDT",
            "base_asset": "ODD",
            "quote_asset": "USDT",
            "tick_size": "0.005",
            "step_size": "0.01",
            "min_qty": "0.03",
            "min_notional": "10",
            "max_qty": "1000",
            "min_price": "0.002",
            "max_price": "5000",
            "max_notional": "25000",
            "apply_min_to_market": False,
            "apply_max_to_market": True,
            "market_min_qty": "0.1",
            "market_max_qty": "200",
            "market_step_size": "0.1",
            "bid_multiplier_up": "1.2",
            "bid_multiplier_down": "0.8",
            "ask_multiplier_up": "1.5",
            "ask_multiplier_down": "0.5",
            "max_num_orders": 50,
            "quote_precision": 2,
        }
    }


def test_a_rule_the_exchange_does_not_apply_is_listed_as_zero(trader: User) -> None:
    off = dataclasses.replace(
        ODD,
        max_qty=D(0),
        min_price=D(0),
        max_price=D(0),
        max_notional=D("0E-8"),
        market_min_qty=D(0),
        market_max_qty=D(0),
        market_step_size=D("0E-8"),
        bid_multiplier_up=D(0),
        bid_multiplier_down=D(0),
        ask_multiplier_up=D(0),
        ask_multiplier_down=D(0),
        max_num_orders=0,
    )
    store_filters({"ODDUSDT": off})

    item = _items(trader[1])["ODDUSDT"]

    zeros = {
        name: value
        for name, value in item.items()
        if value == "0" or (type(value) is int and not value)
    }
    assert sorted(zeros) == sorted(
        ["max_qty", "min_price", "max_price", "max_notional", "market_min_qty",
         "market_max_qty", "market_step_size", "bid_multiplier_up", "bid_multiplier_down",
         "ask_multiplier_up", "ask_multiplier_down", "max_num_orders"]
    )  # fmt: skip
    assert all(value == "0" for name, value in zeros.items() if name != "max_num_orders")


def test_the_unpaged_list_stays_small_for_the_shipped_universe(trader: User) -> None:
    reply = call("market_symbols", token=trader[1])

    body = json.dumps(reply.body, separators=(",", ":"))
    assert len(reply.body["items"]) == len(load_snapshot_filters())
    # ~500 bytes a symbol: 62 symbols are ~31 KB uncompressed, ~1.5 KB gzipped.
    assert len(body) < 520 * len(reply.body["items"])

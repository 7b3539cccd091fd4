"""The filters Binance applies around the market: PERCENT_PRICE_BY_SIDE, MARKET_LOT_SIZE,
NOTIONAL's maximum and market flags, the quote asset's precision, MAX_NUM_(ALGO_)ORDERS, and
how they are parsed and cached. Each rule passes at its boundary and refuses just past it,
naming the field and the nearest valid value."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from tradebot.errors import InvalidInput
from tradebot.exchange.base import SymbolFilters
from tradebot.exchange.filters import check_order, parse_filters
from tradebot.exchange.snapshot import load_exchange_info, load_snapshot_filters
from tradebot.market.symbols import _decode, _encode

D = Decimal
BTC = load_snapshot_filters()["BTCUSDT"]
DOGE = load_snapshot_filters()["DOGEUSDT"]
SHIB = load_snapshot_filters()["SHIBUSDT"]
MARKET = D("95000")


def refused(filters: SymbolFilters, **order: Any) -> tuple[str, str]:
    """check_order's single error as (field, message)."""
    with pytest.raises(InvalidInput) as caught:
        check_order(filters, **order)
    assert caught.value.status == 422
    assert len(caught.value.errors) == 1, caught.value.errors
    error = caught.value.errors[0]
    return error.field, error.message


def limit(side: str, price: str, quantity: str = "0.001", **more: Any) -> dict[str, Any]:
    return {"side": side, "type": "LIMIT", "quantity": D(quantity), "price": D(price), **more}


def market(quantity: str | None = None, quote: str | None = None, **more: Any) -> dict[str, Any]:
    return {
        "side": "BUY",
        "type": "MARKET",
        "quantity": D(quantity) if quantity else None,
        "quote_quantity": D(quote) if quote else None,
        "reference_price": MARKET,
        **more,
    }


# --- PERCENT_PRICE_BY_SIDE ------------------------------------------------------------------


def test_a_buy_up_to_bid_multiplier_up_times_the_market_passes_one_tick_more_is_refused() -> None:
    check_order(BTC, **limit("BUY", "475000", reference_price=MARKET))

    field, message = refused(BTC, **limit("BUY", "475000.01", reference_price=MARKET))

    assert field == "price"
    assert "PERCENT_PRICE_BY_SIDE" in message
    assert "5x the market price 95000" in message
    assert message.endswith("nearest valid: 475000")


def test_a_limit_buy_at_ten_times_the_market_is_refused() -> None:
    field, message = refused(BTC, **limit("BUY", "950000", reference_price=MARKET))

    assert (field, message.endswith("nearest valid: 475000")) == ("price", True)


def test_a_buy_down_to_bid_multiplier_down_passes_one_tick_less_is_refused() -> None:
    check_order(BTC, **limit("BUY", "19000", quantity="0.001", reference_price=MARKET))

    field, message = refused(BTC, **limit("BUY", "18999.99", reference_price=MARKET))

    assert field == "price"
    assert "below 0.2x the market price 95000" in message
    assert message.endswith("nearest valid: 19000")


def test_a_sell_is_bounded_by_the_ask_multipliers_not_the_bid_ones() -> None:
    skewed = replace(
        BTC,
        bid_multiplier_up=D("1.2"),
        bid_multiplier_down=D("0.8"),
        ask_multiplier_up=D("1.5"),
        ask_multiplier_down=D("0.9"),
    )
    check_order(skewed, **limit("SELL", "142500", reference_price=MARKET))  # 1.5x: ask up
    check_order(skewed, **limit("BUY", "76000", reference_price=MARKET))  # 0.8x: bid down

    sell_high = refused(skewed, **limit("SELL", "142500.01", reference_price=MARKET))
    sell_low = refused(skewed, **limit("SELL", "85499.99", reference_price=MARKET))
    buy_high = refused(skewed, **limit("BUY", "114000.01", reference_price=MARKET))

    assert sell_high[1].endswith("nearest valid: 142500")
    assert sell_low[1].endswith("nearest valid: 85500")
    assert buy_high[1].endswith("nearest valid: 114000")
    assert {sell_high[0], sell_low[0], buy_high[0]} == {"price"}


def test_the_nearest_valid_price_is_on_the_tick_grid_for_sub_cent_coins() -> None:
    shib_market = D("0.00000853")

    field, message = refused(
        SHIB, **limit("BUY", "0.00004266", quantity="1000000", reference_price=shib_market)
    )

    assert field == "price"
    assert message.endswith("nearest valid: 0.00004265")  # 5 x 0.00000853 = 0.00004265


def test_a_stop_loss_limits_price_is_bounded_too() -> None:
    order = limit("SELL", "18999.99", reference_price=MARKET, stop_price=D("20000"))
    order["type"] = "STOP_LOSS_LIMIT"

    field, message = refused(BTC, **order)

    assert field == "price"
    assert message.endswith("nearest valid: 19000")


def test_without_a_market_price_or_with_the_filter_absent_the_percent_check_is_skipped() -> None:
    check_order(BTC, **limit("BUY", "950000"))
    no_filter = replace(
        BTC,
        bid_multiplier_up=D(0),
        bid_multiplier_down=D(0),
        ask_multiplier_up=D(0),
        ask_multiplier_down=D(0),
    )
    check_order(no_filter, **limit("BUY", "950000", reference_price=MARKET))
    assert not no_filter.percent_price_applies
    assert BTC.percent_price_applies


# --- MARKET_LOT_SIZE ------------------------------------------------------------------------


def test_a_market_quantity_up_to_market_lot_size_max_passes_one_step_more_is_refused() -> None:
    capped = replace(BTC, market_max_qty=D("10"))
    check_order(capped, **market("10"))

    field, message = refused(capped, **market("10.00001"))

    assert field == "quantity"
    assert "above the maximum quantity 10 (MARKET_LOT_SIZE)" in message
    assert message.endswith("nearest valid: 10")


def test_market_lot_size_max_is_suggested_on_the_lot_size_grid() -> None:
    # BTCUSDT's market maximum (86.60698795) is finer than its step (0.00001).
    field, message = refused(BTC, **market("86.6070"))

    assert field == "quantity"
    assert message.endswith("nearest valid: 86.60698")


def test_market_lot_size_does_not_bound_a_limit_order() -> None:
    check_order(BTC, **limit("BUY", "95000", quantity="90"))


def test_market_lot_size_min_and_step_apply_when_set_and_zero_disables_them() -> None:
    stepped = replace(DOGE, market_min_qty=D(10), market_step_size=D(10))
    check_order(stepped, **market("30", reference_price=D("0.32")))

    below = refused(stepped, **market("9", reference_price=D("0.32")))
    off_step = refused(stepped, **market("25", reference_price=D("0.32")))

    assert below[0] == off_step[0] == "quantity"
    assert below[1].endswith("(MARKET_LOT_SIZE); nearest valid: 10")
    assert off_step[1].endswith("(MARKET_LOT_SIZE); nearest valid: 30")
    check_order(DOGE, **market("25", reference_price=D("0.32")))  # 0: LOT_SIZE only


def test_a_quote_quantity_buying_more_than_the_market_maximum_is_refused() -> None:
    capped = replace(BTC, market_max_qty=D("10"))
    check_order(capped, **market(quote="950000"))

    field, message = refused(capped, **market(quote="950000.01"))

    assert field == "quote_quantity"
    assert "(MARKET_LOT_SIZE)" in message
    assert message.endswith("nearest valid: 950000")


# --- NOTIONAL -------------------------------------------------------------------------------


def test_a_limit_notional_up_to_max_notional_passes_just_above_is_refused() -> None:
    check_order(BTC, **limit("BUY", "90000", quantity="100"))  # 9,000,000 exactly

    field, message = refused(BTC, **limit("BUY", "90000", quantity="100.00001"))

    assert field == "quantity"
    assert "above the maximum notional 9000000 (NOTIONAL)" in message
    assert message.endswith("nearest valid quantity: 100")


def test_max_notional_applies_to_market_orders_only_with_apply_max_to_market() -> None:
    unlimited_lot = replace(BTC, market_max_qty=D(0))
    check_order(unlimited_lot, **market("100"))  # 9.5M, but applyMaxToMarket is false

    applied = replace(unlimited_lot, apply_max_to_market=True)
    check_order(applied, **market("94.73684"))
    field, message = refused(applied, **market("94.73685"))

    assert field == "quantity"
    assert message.endswith("nearest valid quantity: 94.73684")


def test_a_quote_quantity_above_max_notional_is_refused_when_it_applies_to_market() -> None:
    applied = replace(BTC, apply_max_to_market=True, market_max_qty=D(0))
    check_order(applied, **market(quote="9000000"))

    assert refused(applied, **market(quote="9000000.01")) == (
        "quote_quantity",
        "quote_quantity 9000000.01 is above the maximum notional 9000000 (NOTIONAL); "
        "nearest valid: 9000000",
    )


def test_min_notional_spares_market_orders_when_apply_min_to_market_is_false() -> None:
    lenient = replace(BTC, apply_min_to_market=False)
    check_order(lenient, **market("0.00001"))  # 0.95 USDT
    check_order(lenient, **market(quote="1"))

    field, message = refused(lenient, **limit("BUY", "95000", quantity="0.00001"))

    assert field == "quantity"
    assert message.endswith("nearest valid quantity: 0.00006")


def test_min_notional_applies_to_market_orders_at_the_boundary() -> None:
    check_order(BTC, **market(quote="5"))
    check_order(DOGE, **market("16", reference_price=D("0.3125")))  # exactly 5

    field, message = refused(DOGE, **market("15", reference_price=D("0.3125")))

    assert field == "quantity"
    assert message.endswith("nearest valid quantity: 16")


# --- the quote asset's precision ------------------------------------------------------------


def test_a_quote_quantity_finer_than_the_quote_precision_is_refused() -> None:
    check_order(BTC, **market(quote="10.12345678"))

    assert refused(BTC, **market(quote="10.123456789")) == (
        "quote_quantity",
        "quote_quantity 10.123456789 has more than 8 decimals, the precision of USDT "
        "(quoteAssetPrecision); nearest valid: 10.12345679",
    )


def test_a_coarser_quote_precision_is_enforced_from_exchange_info() -> None:
    entry = next(s for s in load_exchange_info()["symbols"] if s["symbol"] == "BTCUSDT")
    two_places = parse_filters({**entry, "quoteAssetPrecision": 2, "quotePrecision": 2})
    check_order(two_places, **market(quote="10.12"))

    field, message = refused(two_places, **market(quote="10.125"))

    assert field == "quote_quantity"
    assert message.endswith("nearest valid: 10.13")


# --- MAX_NUM_ORDERS and MAX_NUM_ALGO_ORDERS -------------------------------------------------


def test_one_order_short_of_max_num_orders_passes_at_the_maximum_it_is_refused() -> None:
    check_order(BTC, **limit("BUY", "95000", open_orders=199, open_algo_orders=0))

    field, message = refused(BTC, **limit("BUY", "95000", open_orders=200, open_algo_orders=0))

    assert field == "symbol"
    assert "200 open orders" in message
    assert "(MAX_NUM_ORDERS: 200)" in message
    assert "nearest valid:" in message


def test_stop_orders_are_also_bounded_by_max_num_algo_orders() -> None:
    stop: dict[str, Any] = {
        "side": "SELL",
        "type": "STOP_LOSS_LIMIT",
        "quantity": D("0.001"),
        "price": D("90000"),
        "stop_price": D("90500"),
    }
    check_order(BTC, **stop, open_orders=10, open_algo_orders=4)

    field, message = refused(BTC, **stop, open_orders=10, open_algo_orders=5)

    assert field == "type"
    assert "(MAX_NUM_ALGO_ORDERS: 5)" in message
    assert message.endswith("nearest valid: LIMIT")
    # A LIMIT order is not an algo order: five open stops do not stop it.
    check_order(BTC, **limit("SELL", "95000", open_orders=10, open_algo_orders=5))


def test_unknown_open_order_counts_skip_the_count_checks() -> None:
    check_order(BTC, **limit("BUY", "95000"))


# --- parsing and caching --------------------------------------------------------------------


def _bare(**extra: Any) -> dict[str, Any]:
    return {
        "symbol": "LTCBTC",
        "baseAsset": "LTC",
        "quoteAsset": "BTC",
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.000001", "maxPrice": "100000.0",
             "tickSize": "0.000001"},
            {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "100000.0",
             "stepSize": "0.001"},
        ],
        **extra,
    }  # fmt: skip


def test_absent_filters_are_parsed_as_not_applied() -> None:
    filters = parse_filters(_bare())

    assert filters.min_notional == filters.max_notional == 0
    assert filters.market_min_qty == filters.market_max_qty == filters.market_step_size == 0
    assert not filters.percent_price_applies
    assert (filters.max_num_orders, filters.max_num_algo_orders) == (0, 0)
    assert (filters.quote_precision, filters.spot_trading) == (8, True)
    check_order(filters, "BUY", "LIMIT", D("0.001"), D("1000"), reference_price=D("0.01"),
                open_orders=10_000, open_algo_orders=10_000)  # fmt: skip


def test_the_legacy_min_notional_and_percent_price_filters_are_read() -> None:
    entry = _bare()
    entry["filters"] += [
        {"filterType": "MIN_NOTIONAL", "minNotional": "0.0001", "applyToMarket": False,
         "avgPriceMins": 5},
        {"filterType": "PERCENT_PRICE", "multiplierUp": "1.3", "multiplierDown": "0.7",
         "avgPriceMins": 5},
    ]  # fmt: skip

    filters = parse_filters(entry)

    assert (filters.min_notional, filters.apply_min_to_market) == (D("0.0001"), False)
    assert (filters.bid_multiplier_up, filters.ask_multiplier_up) == (D("1.3"), D("1.3"))
    assert (filters.bid_multiplier_down, filters.ask_multiplier_down) == (D("0.7"), D("0.7"))


@pytest.mark.parametrize(
    ("extra", "spot"),
    [
        ({"isSpotTradingAllowed": False, "permissionSets": [["SPOT"]]}, False),
        ({"isSpotTradingAllowed": True}, True),
        ({"permissionSets": [["MARGIN", "TRD_GRP_004"]]}, False),
        ({"permissionSets": [["MARGIN"], ["SPOT"]]}, True),
        ({"permissions": ["SPOT", "MARGIN"]}, True),
    ],
)
def test_spot_trading_is_read_from_the_flag_or_the_permission_sets(
    extra: dict[str, Any], spot: bool
) -> None:
    assert parse_filters(_bare(**extra)).spot_trading is spot


def test_cached_filters_round_trip_exactly_through_json() -> None:
    for filters in (BTC, SHIB):
        assert _decode(json.loads(json.dumps(_encode(filters)))) == filters


def test_filters_cached_before_the_new_fields_existed_still_decode() -> None:
    old = {
        "symbol": "BTCUSDT", "base_asset": "BTC", "quote_asset": "USDT", "tick_size": "0.01",
        "step_size": "0.00001", "min_qty": "0.00001", "max_qty": "9000", "min_price": "0.01",
        "max_price": "1000000", "min_notional": "5", "a_field_from_the_future": "1",
    }  # fmt: skip

    filters = _decode(old)

    assert (filters.tick_size, filters.min_notional) == (D("0.01"), D(5))
    assert filters.max_notional == 0
    assert not filters.percent_price_applies
    assert (filters.max_num_orders, filters.quote_precision, filters.spot_trading) == (0, 8, True)

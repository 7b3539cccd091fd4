"""Symbol filters: rounding, formatting, parsing and the checks an order must pass."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tradebot.errors import InvalidInput
from tradebot.exchange.base import OrderRequest, SymbolFilters
from tradebot.exchange.filters import (
    check_order,
    check_order_request,
    format_decimal,
    is_multiple,
    parse_filters,
    round_down,
    round_nearest,
    round_up,
)
from tradebot.exchange.snapshot import load_exchange_info, load_snapshot_filters, reference_prices

D = Decimal
BTC = load_snapshot_filters()["BTCUSDT"]
DOGE = load_snapshot_filters()["DOGEUSDT"]


def breach(filters: SymbolFilters, **order: object) -> InvalidInput:
    """Run check_order expecting a refusal, and return it."""
    with pytest.raises(InvalidInput) as caught:
        check_order(filters, **order)  # type: ignore[arg-type]
    for error in caught.value.errors:
        assert "NaN" not in error.message
        assert "E-" not in error.message
        assert "E+" not in error.message
    return caught.value


def only_error(error: InvalidInput) -> tuple[str, str]:
    assert len(error.errors) == 1, error.errors
    return error.errors[0].field, error.errors[0].message


# --- rounding and formatting ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "step", "down", "up", "nearest"),
    [
        ("0.0001234", "0.00001", "0.00012", "0.00013", "0.00012"),
        ("0.000125", "0.00001", "0.00012", "0.00013", "0.00013"),
        ("95000.005", "0.01", "95000", "95000.01", "95000.01"),
        ("12.7", "1", "12", "13", "13"),
        ("0.5", "0.1", "0.5", "0.5", "0.5"),
        ("3.14159", "0", "3.14159", "3.14159", "3.14159"),
    ],
)
def test_rounding_stays_on_the_step_grid(
    value: str, step: str, down: str, up: str, nearest: str
) -> None:
    assert round_down(D(value), D(step)) == D(down)
    assert round_up(D(value), D(step)) == D(up)
    assert round_nearest(D(value), D(step)) == D(nearest)


def test_rounding_with_binance_padded_steps_keeps_the_value() -> None:
    assert round_down(D("0.0001234"), D("0.00001000")) == D("0.00012")
    assert format_decimal(round_down(D("0.0001234"), D("0.00001000"))) == "0.00012"


def test_is_multiple_treats_a_zero_step_as_disabled() -> None:
    assert is_multiple(D("0.00012"), D("0.00001"))
    assert not is_multiple(D("0.000121"), D("0.00001"))
    assert is_multiple(D("0.000121"), D(0))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("1E-8"), "0.00000001"),
        (D("100"), "100"),
        (D("1E+2"), "100"),
        (D("0.01000000"), "0.01"),
        (D("95000.00000000"), "95000"),
        (D("0E-8"), "0"),
        (D("-0.000"), "0"),
        (D("-1.50"), "-1.5"),
        (D("2.1E-7"), "0.00000021"),
        (D("123456789.123456789"), "123456789.123456789"),
    ],
)
def test_format_decimal_is_plain_without_exponent_or_trailing_zeros(
    value: Decimal, text: str
) -> None:
    assert format_decimal(value) == text


@pytest.mark.parametrize("value", [D("NaN"), D("sNaN"), D("Infinity"), D("-Infinity")])
def test_format_decimal_refuses_non_finite_values(value: Decimal) -> None:
    with pytest.raises(ValueError, match="finite"):
        format_decimal(value)


# --- parsing ------------------------------------------------------------------------------


def test_parse_filters_reads_a_binance_exchange_info_entry() -> None:
    entry = next(s for s in load_exchange_info()["symbols"] if s["symbol"] == "BTCUSDT")

    filters = parse_filters(entry)

    assert filters == SymbolFilters(
        symbol="BTCUSDT",
        base_asset="BTC",
        quote_asset="USDT",
        tick_size=D("0.01"),
        step_size=D("0.00001"),
        min_qty=D("0.00001"),
        max_qty=D("9000"),
        min_price=D("0.01"),
        max_price=D("1000000"),
        min_notional=D("5"),
        max_notional=D("9000000"),
        apply_min_to_market=True,
        apply_max_to_market=False,
        notional_avg_price_mins=5,
        market_min_qty=D(0),
        market_max_qty=D("86.60698795"),
        market_step_size=D(0),
        bid_multiplier_up=D(5),
        bid_multiplier_down=D("0.2"),
        ask_multiplier_up=D(5),
        ask_multiplier_down=D("0.2"),
        percent_avg_price_mins=5,
        max_num_orders=200,
        max_num_algo_orders=5,
        quote_precision=8,
        spot_trading=True,
    )


def test_parse_filters_accepts_the_legacy_min_notional_filter() -> None:
    entry = {
        "symbol": "LTCBTC",
        "baseAsset": "LTC",
        "quoteAsset": "BTC",
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.000001", "maxPrice": "100000.0",
             "tickSize": "0.000001"},
            {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "100000.0",
             "stepSize": "0.001"},
            {"filterType": "MIN_NOTIONAL", "minNotional": "0.0001", "applyToMarket": True,
             "avgPriceMins": 5},
        ],
    }  # fmt: skip

    assert parse_filters(entry).min_notional == D("0.0001")


def test_parse_filters_without_lot_size_names_the_missing_filter() -> None:
    entry = {"symbol": "X", "baseAsset": "X", "quoteAsset": "Y", "filters": []}

    with pytest.raises(ValueError, match="PRICE_FILTER"):
        parse_filters(entry)


LARGEST_USDT_PAIRS = {
    "BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT", "TRXUSDT",
    "LINKUSDT", "AVAXUSDT", "DOTUSDT", "TONUSDT", "SHIBUSDT", "LTCUSDT", "BCHUSDT", "UNIUSDT",
    "NEARUSDT", "APTUSDT", "ICPUSDT", "ETCUSDT", "FILUSDT", "ATOMUSDT", "ARBUSDT", "OPUSDT",
    "XLMUSDT", "HBARUSDT", "INJUSDT", "SUIUSDT", "PEPEUSDT", "AAVEUSDT",
}  # fmt: skip


def test_snapshot_holds_at_least_the_fifty_largest_usdt_pairs_with_binance_values() -> None:
    filters = load_snapshot_filters()

    assert len(filters) >= 50
    assert set(filters) >= LARGEST_USDT_PAIRS
    assert all(f.quote_asset == "USDT" for f in filters.values())
    assert (filters["ETHUSDT"].tick_size, filters["ETHUSDT"].step_size) == (D("0.01"), D("0.0001"))
    assert (filters["XRPUSDT"].tick_size, filters["XRPUSDT"].step_size) == (D("0.0001"), D("0.1"))
    assert (filters["DOGEUSDT"].tick_size, filters["DOGEUSDT"].step_size) == (D("0.00001"), D(1))
    # SHIB and PEPE trade at a fraction of a cent: eight-decimal ticks, whole-coin steps.
    assert (filters["SHIBUSDT"].tick_size, filters["SHIBUSDT"].step_size) == (D("1E-8"), D(1))
    assert (filters["PEPEUSDT"].tick_size, filters["PEPEUSDT"].step_size) == (D("1E-8"), D(1))
    assert all(f.min_notional in (1, 5) for f in filters.values())


def test_snapshot_callers_get_their_own_dicts() -> None:
    load_snapshot_filters().clear()
    reference_prices().clear()

    assert "BTCUSDT" in load_snapshot_filters()
    assert "BTCUSDT" in reference_prices()


def test_reference_prices_are_decimals_on_each_symbols_tick() -> None:
    filters, prices = load_snapshot_filters(), reference_prices()

    assert set(prices) == set(filters)
    for symbol, price in prices.items():
        assert isinstance(price, Decimal)
        assert price > 0
        assert is_multiple(price, filters[symbol].tick_size), symbol


# --- check_order ----------------------------------------------------------------------------


def test_a_valid_limit_order_passes() -> None:
    check_order(BTC, "BUY", "LIMIT", D("0.001"), D("95000.01"))


def test_a_valid_stop_loss_limit_and_market_order_pass() -> None:
    check_order(BTC, "SELL", "STOP_LOSS_LIMIT", D("0.001"), D("90000"), stop_price=D("90500"))
    check_order(BTC, "BUY", "MARKET", D("0.001"), reference_price=D("95000"))
    check_order(BTC, "BUY", "MARKET", None, quote_quantity=D("10"))


def test_quantity_off_step_names_lot_size_and_the_nearest_valid_quantity() -> None:
    error = breach(BTC, side="BUY", type="LIMIT", quantity=D("0.0001234"), price=D("95000"))

    assert only_error(error) == (
        "quantity",
        "quantity 0.0001234 is not a multiple of step size 0.00001 (LOT_SIZE); "
        "nearest valid: 0.00012",
    )
    assert error.status == 422


def test_quantity_below_min_qty_suggests_min_qty() -> None:
    error = breach(DOGE, side="BUY", type="MARKET", quantity=D("0.5"))

    field, message = only_error(error)
    assert field == "quantity"
    assert "below the minimum quantity 1 (LOT_SIZE)" in message
    assert message.endswith("nearest valid: 1")


def test_quantity_above_max_qty_suggests_max_qty() -> None:
    error = breach(BTC, side="SELL", type="LIMIT", quantity=D("9000.5"), price=D("95000"))

    assert only_error(error) == (
        "quantity",
        "quantity 9000.5 is above the maximum quantity 9000 (LOT_SIZE); nearest valid: 9000",
    )


def test_price_off_tick_names_price_filter_and_the_nearest_tick() -> None:
    error = breach(BTC, side="BUY", type="LIMIT", quantity=D("0.001"), price=D("95000.006"))

    assert only_error(error) == (
        "price",
        "price 95000.006 is not a multiple of tick size 0.01 (PRICE_FILTER); "
        "nearest valid: 95000.01",
    )


def test_stop_price_off_tick_is_reported_on_stop_price() -> None:
    error = breach(
        DOGE,
        side="SELL",
        type="STOP_LOSS_LIMIT",
        quantity=D("100"),
        price=D("0.3"),
        stop_price=D("0.300004"),
    )

    assert only_error(error) == (
        "stop_price",
        "stop_price 0.300004 is not a multiple of tick size 0.00001 (PRICE_FILTER); "
        "nearest valid: 0.3",
    )


def test_price_outside_min_and_max_price_suggests_the_bound() -> None:
    low = breach(BTC, side="BUY", type="LIMIT", quantity=D("1"), price=D("0.001"))
    high = breach(BTC, side="BUY", type="LIMIT", quantity=D("0.001"), price=D("2000000"))

    assert "below the minimum price 0.01 (PRICE_FILTER); nearest valid: 0.01" in str(low)
    assert "above the maximum price 1000000 (PRICE_FILTER); nearest valid: 1000000" in str(high)


def test_limit_notional_uses_the_limit_price_and_suggests_a_quantity() -> None:
    error = breach(BTC, side="BUY", type="LIMIT", quantity=D("0.00001"), price=D("95000"))

    assert only_error(error) == (
        "quantity",
        "notional 0.95 is below the minimum notional 5 (NOTIONAL); nearest valid quantity: 0.00006",
    )


def test_market_notional_uses_the_reference_price() -> None:
    check_order(DOGE, "BUY", "MARKET", D("20"), reference_price=D("0.30"))

    error = breach(DOGE, side="BUY", type="MARKET", quantity=D("10"), reference_price=D("0.32"))

    assert only_error(error) == (
        "quantity",
        "notional 3.2 is below the minimum notional 5 (NOTIONAL); nearest valid quantity: 16",
    )


def test_market_without_reference_price_skips_the_notional_check() -> None:
    check_order(DOGE, "BUY", "MARKET", D("1"))


def test_market_quote_quantity_below_min_notional_is_reported_on_quote_quantity() -> None:
    error = breach(BTC, side="BUY", type="MARKET", quantity=None, quote_quantity=D("4.99"))

    assert only_error(error) == (
        "quote_quantity",
        "quote_quantity 4.99 is below the minimum notional 5 (NOTIONAL); nearest valid: 5",
    )


def test_every_breach_is_reported_at_once() -> None:
    error = breach(
        BTC,
        side="SELL",
        type="STOP_LOSS_LIMIT",
        quantity=D("0.0001234"),
        price=D("95000.001"),
        stop_price=D("95000.002"),
    )

    assert [e.field for e in error.errors] == ["quantity", "price", "stop_price"]
    assert error.detail == "; ".join(e.message for e in error.errors)


@pytest.mark.parametrize(
    ("order", "field"),
    [
        ({"type": "LIMIT", "quantity": D("0.001"), "price": None}, "price"),
        ({"type": "LIMIT", "quantity": None, "price": D("95000")}, "quantity"),
        ({"type": "STOP_LOSS_LIMIT", "quantity": D("0.001"), "price": D("95000")}, "stop_price"),
        ({"type": "MARKET", "quantity": None}, "quantity"),
        ({"type": "MARKET", "quantity": D("0.001"), "quote_quantity": D("10")}, "quantity"),
    ],
)
def test_missing_or_conflicting_fields_are_named(order: dict[str, object], field: str) -> None:
    error = breach(BTC, side="BUY", **order)

    assert field in [e.field for e in error.errors]


@pytest.mark.parametrize("bad", [D("NaN"), D("sNaN"), D("Infinity"), D(0), D("-0.001")])
@pytest.mark.parametrize("field", ["quantity", "price", "stop_price"])
def test_non_finite_zero_or_negative_numbers_are_refused_without_crashing(
    bad: Decimal, field: str
) -> None:
    order: dict[str, object] = {
        "type": "STOP_LOSS_LIMIT",
        "quantity": D("0.001"),
        "price": D("95000"),
        "stop_price": D("95000"),
    }
    order[field] = bad

    error = breach(BTC, side="BUY", **order)

    assert [e.field for e in error.errors] == [field]


def test_nan_reference_price_or_quote_quantity_is_handled() -> None:
    check_order(BTC, "BUY", "MARKET", D("0.001"), reference_price=D("NaN"))
    error = breach(BTC, side="BUY", type="MARKET", quantity=None, quote_quantity=D("NaN"))

    assert only_error(error) == ("quote_quantity", "quote_quantity must be a finite number")


def test_check_order_request_checks_a_whole_order() -> None:
    order = OrderRequest(
        symbol="BTCUSDT",
        side="BUY",
        type="MARKET",
        client_order_id="c-1",
        quote_quantity=D("1"),
    )

    with pytest.raises(InvalidInput) as caught:
        check_order_request(BTC, order, reference_price=D("95000"))

    assert caught.value.errors[0].field == "quote_quantity"

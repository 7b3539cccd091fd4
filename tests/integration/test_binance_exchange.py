"""BinanceExchange driving the real python-binance client against the local Binance fake."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from binance.exceptions import BinanceAPIException
from pydantic import SecretStr
from tradebot.errors import (
    ClockSkew,
    ExchangeError,
    ExchangeRateLimited,
    FilterFailure,
    InsufficientBalance,
    InvalidApiKey,
    OrderRejected,
    OutcomeUnknown,
    PermanentExchangeError,
    RetryableExchangeError,
    UnknownOrder,
)
from tradebot.exchange.base import OrderRequest
from tradebot.exchange.binance import BinanceExchange
from tradebot.exchange.retry import place_order_safely, with_retries
from tradebot.exchange.snapshot import load_snapshot_filters

from tests.fakes.binance_limits import request_weight
from tests.fakes.binance_server import BinanceFake

D = Decimal
KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
CLIENT_TIMEOUT_S = 0.3
ORDER_PATH = "/api/v3/order"


@pytest.fixture
def fake() -> Iterator[BinanceFake]:
    with BinanceFake(api_key=KEY, api_secret=SECRET) as server:
        yield server


def connect(fake: BinanceFake, key: str = KEY, secret: str = SECRET) -> BinanceExchange:
    return BinanceExchange(
        key, SecretStr(secret), base_url=fake.base_url, timeout_s=CLIENT_TIMEOUT_S
    )


@pytest.fixture
def exchange(fake: BinanceFake) -> Iterator[BinanceExchange]:
    exchange = connect(fake)
    yield exchange
    exchange.close()


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    assert set(threading.enumerate()) <= before


def market_buy(client_order_id: str = "order-1", quantity: str = "0.001") -> OrderRequest:
    return OrderRequest("BTCUSDT", "BUY", "MARKET", client_order_id, quantity=D(quantity))


def limit_buy(client_order_id: str = "order-1") -> OrderRequest:
    return OrderRequest(
        "ETHUSDT", "BUY", "LIMIT", client_order_id, quantity=D("0.0100"), price=D("3000.00")
    )


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


# --- placing each order type ----------------------------------------------------------------


def test_market_order_sends_client_id_and_plain_decimal_strings(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    result = exchange.place_order(market_buy("mkt-1", quantity="0.00100000"))

    sent = fake.placed_orders[0]
    assert sent["newClientOrderId"] == "mkt-1"
    assert sent["quantity"] == "0.001"
    assert (sent["symbol"], sent["side"], sent["type"]) == ("BTCUSDT", "BUY", "MARKET")
    assert sent["newOrderRespType"] == "FULL"
    assert "price" not in sent
    assert "timeInForce" not in sent
    assert result.status == "FILLED"
    assert result.client_order_id == "mkt-1"
    assert result.executed_qty == D("0.001")
    assert result.cumulative_quote_qty == D("95")
    assert result.avg_price == D("95000")


def test_market_fee_is_the_sum_of_fill_commissions(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    buy = exchange.place_order(market_buy("buy-1", quantity="0.002"))
    fake.set_price("BTCUSDT", "100000")
    sell = exchange.place_order(
        OrderRequest("BTCUSDT", "SELL", "MARKET", "sell-1", quantity=D("0.001"))
    )

    assert (buy.fee, buy.fee_asset) == (D("0.000002"), "BTC")
    assert (sell.fee, sell.fee_asset) == (D("0.1"), "USDT")


def test_market_order_with_quote_quantity_sends_quote_order_qty(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    order = OrderRequest("BTCUSDT", "BUY", "MARKET", "quote-1", quote_quantity=D("20.00"))

    result = exchange.place_order(order)

    sent = fake.placed_orders[0]
    assert sent["quoteOrderQty"] == "20"
    assert "quantity" not in sent
    assert result.executed_qty == D("0.00021")
    assert result.cumulative_quote_qty == D("19.95")


def test_limit_order_rests_as_new_with_gtc(fake: BinanceFake, exchange: BinanceExchange) -> None:
    result = exchange.place_order(limit_buy("lim-1"))

    sent = fake.placed_orders[0]
    assert (sent["quantity"], sent["price"], sent["timeInForce"]) == ("0.01", "3000", "GTC")
    assert sent["newClientOrderId"] == "lim-1"
    assert result.status == "NEW"
    assert result.executed_qty == 0
    assert (result.fee, result.fee_asset) == (D(0), None)


def test_stop_loss_limit_sends_price_stop_price_and_gtc(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.set_balance("SOL", "10")
    order = OrderRequest(
        "SOLUSDT", "SELL", "STOP_LOSS_LIMIT", "stop-1",
        quantity=D("1.500"), price=D("170.00"), stop_price=D("171.50"),
    )  # fmt: skip

    result = exchange.place_order(order)

    sent = fake.placed_orders[0]
    assert (sent["quantity"], sent["price"], sent["stopPrice"]) == ("1.5", "170", "171.5")
    assert sent["timeInForce"] == "GTC"
    assert sent["type"] == "STOP_LOSS_LIMIT"
    assert result.status == "NEW"


def test_normalized_decimals_are_never_sent_in_exponent_notation(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    # The trap: str(Decimal("100").normalize()) == "1E+2", which Binance refuses.
    exchange.place_order(OrderRequest("DOGEUSDT", "BUY", "MARKET", "exp-1", quantity=D("1E+2")))
    exchange.place_order(
        OrderRequest("ETHUSDT", "BUY", "LIMIT", "exp-2", quantity=D("1E-2"), price=D("3E+3"))
    )

    assert fake.placed_orders[0]["quantity"] == "100"
    assert (fake.placed_orders[1]["quantity"], fake.placed_orders[1]["price"]) == ("0.01", "3000")


# --- looking up, cancelling, balances, market data ----------------------------------------


def test_get_order_finds_an_order_by_client_id(exchange: BinanceExchange) -> None:
    placed = exchange.place_order(limit_buy("lim-1"))

    found = exchange.get_order("ETHUSDT", "lim-1")

    assert found is not None
    assert (found.exchange_order_id, found.status) == (placed.exchange_order_id, "NEW")


def test_get_order_on_an_unknown_client_id_returns_none(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    assert exchange.get_order("ETHUSDT", "never-placed") is None
    assert fake.requests_to("GET", ORDER_PATH)[0].params["origClientOrderId"] == "never-placed"


# --- the fee of a looked-up order: the account trade list ------------------------------------

TRADES_PATH = "/api/v3/myTrades"


def test_a_looked_up_fill_gets_the_fee_its_placement_answer_reported(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.market_fill_parts = 3
    placed = exchange.place_order(market_buy("fee-1", quantity="0.003"))
    found = exchange.get_order("BTCUSDT", "fee-1")
    assert found is not None
    assert (found.executed_qty, found.fee_asset) == (D("0.003"), None)  # GET /order: no fills

    completed = exchange.with_commission(found)

    assert (completed.fee, completed.fee_asset) == (placed.fee, placed.fee_asset)
    assert (completed.fee, completed.fee_asset) == (D("0.000003"), "BTC")
    assert isinstance(completed.fee, Decimal)
    (read,) = fake.requests_to("GET", TRADES_PATH)
    assert (read.params["symbol"], read.params["orderId"]) == ("BTCUSDT", placed.exchange_order_id)
    assert "signature" in read.params


def test_an_order_with_more_trades_than_one_page_is_read_page_by_page(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.market_fill_parts = 1500  # 0.00001 BTC each: 1500 trades
    placed = exchange.place_order(market_buy("fee-2", quantity="0.015"))
    found = exchange.get_order("BTCUSDT", "fee-2")
    assert found is not None

    completed = exchange.with_commission(found)

    assert (completed.fee, completed.fee_asset) == (placed.fee, placed.fee_asset)
    first, second = fake.requests_to("GET", TRADES_PATH)
    assert "fromId" not in first.params
    assert int(second.params["fromId"]) > 0


def test_no_trade_list_is_read_without_a_fill_or_for_a_known_fee(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    placed = exchange.place_order(market_buy("fee-3"))
    exchange.place_order(limit_buy("fee-4"))
    resting = exchange.get_order("ETHUSDT", "fee-4")
    assert resting is not None

    assert exchange.with_commission(placed) == placed
    assert exchange.with_commission(resting) == resting
    assert fake.requests_to("GET", TRADES_PATH) == []


def test_a_trade_list_that_lags_the_order_or_fails_is_retryable(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.market_fill_parts = 2
    exchange.place_order(market_buy("fee-5", quantity="0.002"))
    found = exchange.get_order("BTCUSDT", "fee-5")
    assert found is not None
    fake.trades.pop()  # the list does not show the order's last trade yet

    with pytest.raises(RetryableExchangeError, match="does not show all fills"):
        exchange.with_commission(found)
    fake.fail_next("503", path=TRADES_PATH)
    with pytest.raises(RetryableExchangeError) as raised:
        exchange.with_commission(found)
    assert not isinstance(raised.value, OutcomeUnknown)  # a read: nothing may have happened


def test_cancel_order_cancels_by_client_id_and_unlocks_funds(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    exchange.place_order(limit_buy("lim-1"))

    result = exchange.cancel_order("ETHUSDT", "lim-1")

    assert (result.status, result.client_order_id) == ("CANCELED", "lim-1")
    assert fake.requests_to("DELETE", ORDER_PATH)[0].params["origClientOrderId"] == "lim-1"
    assert fake.orders["lim-1"]["status"] == "CANCELED"
    assert fake.locked["USDT"] == 0
    with pytest.raises(UnknownOrder):
        exchange.cancel_order("ETHUSDT", "lim-1")


def test_balances_are_decimals_and_omit_zero_assets(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.set_balance("BNB", "0")
    fake.set_balance("ETH", "1.25", locked="0.5")

    balances = {b.asset: b for b in exchange.balances()}

    assert set(balances) == {"USDT", "ETH"}
    assert (balances["ETH"].free, balances["ETH"].locked) == (D("1.25"), D("0.5"))
    assert balances["USDT"].free == D("10000")


def test_ticker_prices_fetches_all_wanted_symbols_in_one_request(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.set_price("ETHUSDT", "3456.78")

    prices = exchange.ticker_prices(["BTCUSDT", "ETHUSDT", "DOGEUSDT"])

    assert prices == {"BTCUSDT": D("95000"), "ETHUSDT": D("3456.78"), "DOGEUSDT": D("0.32")}
    calls = fake.requests_to("GET", "/api/v3/ticker/price")
    assert len(calls) == 1
    assert calls[0].params == {"symbols": '["BTCUSDT","ETHUSDT","DOGEUSDT"]'}
    assert exchange.ticker_prices([]) == {}
    assert len(exchange.ticker_prices()) == len(fake.symbols)


def test_price_ranges_are_one_minute_candles_that_show_a_price_moved_through_and_back(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    # Given the market moved down to 93990 and back to 95000 since `since`
    since = datetime.now(UTC)
    fake.set_price("BTCUSDT", "93990.00")
    fake.set_price("BTCUSDT", "95000.00")

    # When the traded ranges of two symbols are read
    ranges = exchange.price_ranges(["BTCUSDT", "ETHUSDT"], since)

    # Then one public klines request a symbol (weight 2 each), from the minute `since` is in
    calls = fake.requests_to("GET", "/api/v3/klines")
    assert [c.params["symbol"] for c in calls] == ["BTCUSDT", "ETHUSDT"]
    minute_ms = int(since.timestamp()) // 60 * 60_000
    for call in calls:
        assert (call.params["interval"], call.params["startTime"]) == ("1m", str(minute_ms))
        assert "signature" not in call.params
    assert sum(request_weight(c.method, c.path, c.params) for c in calls) == 4
    # and the candles still show the low the price went through
    btc = ranges["BTCUSDT"]
    assert btc[0].opened_at <= since < (btc[0].closed_at or since)
    assert (min(r.low for r in btc), max(r.high for r in btc)) == (D("93990"), D("95000"))
    assert {(r.low, r.high) for r in ranges["ETHUSDT"]} == {(D("3400"), D("3400"))}


def test_exchange_info_filters_match_the_snapshot(exchange: BinanceExchange) -> None:
    assert exchange.exchange_info_filters() == load_snapshot_filters()
    assert list(exchange.exchange_info_filters(["XRPUSDT"])) == ["XRPUSDT"]


def test_the_client_is_created_lazily(fake: BinanceFake) -> None:
    exchange = connect(fake)

    assert fake.requests == []
    exchange.ping()
    assert [r.path for r in fake.requests] == ["/api/v3/ping"]
    exchange.close()


# --- keys and secrets -------------------------------------------------------------------------


def test_a_wrong_secret_fails_the_signature_check(fake: BinanceFake) -> None:
    exchange = connect(fake, secret="not-the-secret")

    with pytest.raises(InvalidApiKey) as caught:
        exchange.place_order(market_buy())

    assert caught.value.code == -1022
    assert fake.placed_orders == []
    exchange.close()


def test_a_wrong_key_is_refused(fake: BinanceFake) -> None:
    exchange = connect(fake, key="someone-elses-key")

    with pytest.raises(InvalidApiKey) as caught:
        exchange.balances()

    assert caught.value.code == -2015
    exchange.close()


def test_the_secret_never_appears_in_repr_or_errors(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.fail_next("-2015")
    with pytest.raises(InvalidApiKey) as caught:
        exchange.balances()

    error = caught.value
    for text in (repr(exchange), str(exchange), repr(vars(exchange)), str(error), repr(error)):
        assert SECRET not in text
    assert SECRET not in str(error.__cause__)
    assert KEY not in repr(exchange)


# --- every error kind maps to its domain exception --------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected", "code"),
    [
        ("500", OutcomeUnknown, -1001),
        ("503", OutcomeUnknown, -1001),
        ("429", ExchangeRateLimited, -1003),
        ("418", ExchangeRateLimited, -1003),
        ("-1003", ExchangeRateLimited, -1003),
        ("-1007", OutcomeUnknown, -1007),
        ("-1006", OutcomeUnknown, -1006),
        ("placed-500", OutcomeUnknown, -1001),
        ("-1013", FilterFailure, -1013),
        ("-1021", ClockSkew, -1021),
        ("-2010", InsufficientBalance, -2010),
        ("-2014", InvalidApiKey, -2014),
        ("-2015", InvalidApiKey, -2015),
        ("-1022", InvalidApiKey, -1022),
        ("-2008", InvalidApiKey, -2008),
        ("-1121", OrderRejected, -1121),
    ],
)
def test_placement_errors_map_to_domain_exceptions(
    fake: BinanceFake,
    exchange: BinanceExchange,
    kind: str,
    expected: type[ExchangeError],
    code: int,
) -> None:
    fake.fail_next(kind, path=ORDER_PATH)

    with pytest.raises(expected) as caught:
        exchange.place_order(market_buy())

    assert type(caught.value) is expected
    assert caught.value.code == code
    assert caught.value.__cause__ is not None


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("500", RetryableExchangeError),
        ("503", RetryableExchangeError),
        ("timeout", RetryableExchangeError),
        ("-2011", UnknownOrder),
        ("-1121", PermanentExchangeError),
    ],
)
def test_errors_outside_placement_are_not_outcome_unknown(
    fake: BinanceFake, exchange: BinanceExchange, kind: str, expected: type[ExchangeError]
) -> None:
    fake.fail_next(kind)

    with pytest.raises(expected) as caught:
        exchange.balances()

    assert type(caught.value) is expected


def test_timeout_on_placement_is_outcome_unknown(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.fail_next("timeout", path=ORDER_PATH)

    with pytest.raises(OutcomeUnknown, match="timed out"):
        exchange.place_order(market_buy())


def test_a_maybe_placed_placement_carries_its_signed_timestamp(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.fail_next("-1007", path=ORDER_PATH)

    with pytest.raises(OutcomeUnknown) as caught:
        exchange.place_order(market_buy())

    (sent,) = fake.requests_to("POST", ORDER_PATH)
    assert caught.value.sent_at is not None
    assert int(caught.value.sent_at.timestamp() * 1000) == int(sent.params["timestamp"])


def test_a_connection_dropped_after_sending_is_outcome_unknown(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.fail_next("drop", path=ORDER_PATH)

    with pytest.raises(OutcomeUnknown, match="lost its connection") as caught:
        exchange.place_order(market_buy())

    assert caught.value.sent_at is not None
    assert len(fake.placed_orders) == 1  # Binance had processed it


def test_connection_refused_is_certainly_not_placed(fake: BinanceFake) -> None:
    exchange = BinanceExchange(KEY, SECRET, base_url="http://127.0.0.1:9", timeout_s=0.3)

    with pytest.raises(RetryableExchangeError):
        exchange.balances()
    with pytest.raises(RetryableExchangeError, match="could not connect") as caught:
        exchange.place_order(market_buy())
    assert not isinstance(caught.value, OutcomeUnknown)
    exchange.close()


def test_rejection_without_insufficient_balance_is_order_rejected(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.fail_next("-2010", msg="Market is closed.")

    with pytest.raises(OrderRejected) as caught:
        exchange.place_order(market_buy())

    assert type(caught.value) is OrderRejected
    assert "Market is closed." in caught.value.detail


def test_a_real_insufficient_balance_is_insufficient_balance(exchange: BinanceExchange) -> None:
    with pytest.raises(InsufficientBalance):
        exchange.place_order(market_buy(quantity="1"))


def test_a_real_filter_breach_is_filter_failure(exchange: BinanceExchange) -> None:
    with pytest.raises(FilterFailure, match="LOT_SIZE"):
        exchange.place_order(market_buy(quantity="0.0000123"))


def test_a_duplicate_open_client_id_means_the_order_exists(exchange: BinanceExchange) -> None:
    exchange.place_order(limit_buy("dup-1"))

    # Binance refuses a second open order with our id: the first one did reach it.
    with pytest.raises(OutcomeUnknown, match="Duplicate order sent") as caught:
        exchange.place_order(limit_buy("dup-1"))
    assert caught.value.code == -2010


def test_a_client_id_is_accepted_again_once_its_order_is_no_longer_open(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    # Why a look-up that lags must never lead to placing again: the id blocks only open orders.
    exchange.place_order(market_buy("dup-2"))  # FILLED at once

    again = exchange.place_order(market_buy("dup-2"))

    assert again.status == "FILLED"
    assert [p["newClientOrderId"] for p in fake.placed_orders] == ["dup-2", "dup-2"]


def test_find_order_reads_the_order_history_from_the_given_time(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    placed = exchange.place_order(limit_buy("hist-1"))
    exchange.place_order(limit_buy("hist-2"))

    found = exchange.find_order("ETHUSDT", "hist-1", since)

    assert found is not None
    assert (found.exchange_order_id, found.status) == (placed.exchange_order_id, "NEW")
    assert exchange.find_order("ETHUSDT", "missing", since) is None
    assert (
        exchange.find_order("ETHUSDT", "hist-1", datetime.now(UTC) + timedelta(minutes=1)) is None
    )
    (first, *_) = fake.requests_to("GET", "/api/v3/allOrders")
    assert first.params["symbol"] == "ETHUSDT"
    assert int(first.params["startTime"]) == int(since.timestamp() * 1000)
    assert first.params["limit"] == "1000"
    assert "signature" in first.params


def test_the_fakes_order_history_follows_binances_parameters(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    ids = [int(exchange.place_order(limit_buy(f"page-{n}")).exchange_order_id) for n in range(3)]
    client = exchange._client()

    assert [o["orderId"] for o in client.get_all_orders(symbol="ETHUSDT", limit=2)] == ids[1:]
    assert [o["orderId"] for o in client.get_all_orders(symbol="ETHUSDT", orderId=ids[1])] == (
        ids[1:]
    )
    assert client.get_all_orders(symbol="BTCUSDT") == []
    with pytest.raises(BinanceAPIException, match="Mandatory parameter 'symbol'"):
        client.get_all_orders()
    with pytest.raises(BinanceAPIException, match="24 hours"):
        client.get_all_orders(symbol="ETHUSDT", startTime=0, endTime=25 * 3600 * 1000)


def test_an_order_hidden_by_the_lookup_lag_shows_up_afterwards(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.lookup_lag_s = 0.3
    fake.fail_next("-1007", path=ORDER_PATH)
    with pytest.raises(OutcomeUnknown):
        exchange.place_order(limit_buy("lag-1"))
    since = datetime.now(UTC) - timedelta(minutes=1)

    assert exchange.get_order("ETHUSDT", "lag-1") is None
    assert exchange.find_order("ETHUSDT", "lag-1", since) is None
    time.sleep(0.35)
    assert exchange.get_order("ETHUSDT", "lag-1") is not None
    assert exchange.find_order("ETHUSDT", "lag-1", since) is not None


# --- retries ---------------------------------------------------------------------------------


def test_clock_skew_resyncs_and_the_retry_succeeds(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.clock_skew_ms = 30_000  # the exchange's clock is 30 s ahead of ours
    sleep = RecordingSleep()

    balances = with_retries(exchange.balances, sleep=sleep)

    assert {b.asset for b in balances} == {"USDT"}
    assert len(fake.requests_to("GET", "/api/v3/account")) == 2
    assert len(fake.requests_to("GET", "/api/v3/time")) == 1
    assert sleep.delays == [0.2]


def test_clock_skew_behind_the_server_is_also_resynced(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.clock_skew_ms = -30_000
    with pytest.raises(ClockSkew):
        exchange.place_order(market_buy("skew-1"))

    result = exchange.place_order(market_buy("skew-1"))

    assert result.status == "FILLED"
    assert len(fake.placed_orders) == 1


def test_rate_limit_waits_for_retry_after_then_retries(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.fail_next("429", retry_after_s=3)
    sleep = RecordingSleep()

    with_retries(exchange.balances, attempts=3, base_delay=0.2, sleep=sleep)

    assert sleep.delays == [3.0]
    assert len(fake.requests_to("GET", "/api/v3/account")) == 2


def test_rate_limit_longer_than_max_delay_is_raised_at_once(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.fail_next("418", retry_after_s=120)
    sleep = RecordingSleep()

    with pytest.raises(ExchangeRateLimited) as caught:
        with_retries(exchange.balances, sleep=sleep, max_delay=10)

    assert caught.value.retry_after_s == 120
    assert sleep.delays == []


def test_server_errors_back_off_exponentially_and_give_up(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.fail_next("503", count=3)
    sleep = RecordingSleep()

    with pytest.raises(RetryableExchangeError):
        with_retries(exchange.balances, attempts=3, base_delay=0.2, sleep=sleep)

    assert sleep.delays == [0.2, 0.4]
    assert len(fake.requests_to("GET", "/api/v3/account")) == 3


def test_permanent_errors_are_not_retried(fake: BinanceFake, exchange: BinanceExchange) -> None:
    fake.fail_next("-2015")
    sleep = RecordingSleep()

    with pytest.raises(InvalidApiKey):
        with_retries(exchange.balances, sleep=sleep)

    assert sleep.delays == []
    assert len(fake.requests_to("GET", "/api/v3/account")) == 1


# --- placing exactly once -------------------------------------------------------------------


def test_timeout_on_place_finds_the_order_instead_of_placing_again(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.fail_next("timeout", path=ORDER_PATH)
    sleep = RecordingSleep()

    result = place_order_safely(exchange, market_buy("once-1"), sleep=sleep)

    assert len(fake.placed_orders) == 1
    assert (result.client_order_id, result.status) == ("once-1", "FILLED")
    assert len(fake.requests_to("POST", ORDER_PATH)) == 1
    lookups = fake.requests_to("GET", ORDER_PATH)
    assert [r.params["origClientOrderId"] for r in lookups] == ["once-1"]
    assert sleep.delays == [0.2]


def test_backend_timeout_1007_finds_the_processed_order(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.fail_next("-1007", path=ORDER_PATH)

    result = place_order_safely(exchange, limit_buy("once-2"), sleep=RecordingSleep())

    assert len(fake.placed_orders) == 1
    assert result.status == "NEW"


def test_a_server_error_is_looked_up_once_and_never_placed_again(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.fail_next("500", path=ORDER_PATH)  # before processing, but the client cannot know

    with pytest.raises(OutcomeUnknown):
        place_order_safely(exchange, market_buy("once-3"), sleep=RecordingSleep())

    assert fake.placed_orders == []
    assert len(fake.requests_to("POST", ORDER_PATH)) == 1
    assert len(fake.requests_to("GET", ORDER_PATH)) == 1


def test_a_failed_lookup_leaves_the_outcome_unknown_and_places_nothing_more(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.fail_next("timeout", path=ORDER_PATH)
    fake.fail_next("503", path=ORDER_PATH)  # the look-up fails too

    with pytest.raises(OutcomeUnknown):
        place_order_safely(exchange, market_buy("once-4"), attempts=3, sleep=RecordingSleep())

    assert len(fake.placed_orders) == 1
    assert len(fake.requests_to("POST", ORDER_PATH)) == 1
    assert len(fake.requests_to("GET", ORDER_PATH)) == 1


def test_an_order_invisible_to_the_lookup_is_not_placed_again(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.lookup_lag_s = 60.0  # the look-up runs before the order is visible
    fake.fail_next("-1007", path=ORDER_PATH)

    with pytest.raises(OutcomeUnknown):
        place_order_safely(exchange, market_buy("once-5"), sleep=RecordingSleep())

    assert len(fake.placed_orders) == 1
    assert len(fake.requests_to("POST", ORDER_PATH)) == 1


def test_rate_limited_placement_is_placed_again_without_lookup(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.fail_next("429", path=ORDER_PATH, retry_after_s=2)
    sleep = RecordingSleep()

    place_order_safely(exchange, market_buy("once-6"), sleep=sleep)

    assert sleep.delays == [2.0]
    assert fake.requests_to("GET", ORDER_PATH) == []
    assert len(fake.placed_orders) == 1


def test_unknown_outcome_on_every_attempt_is_raised_without_a_second_order(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.fail_next("timeout", path=ORDER_PATH)
    fake.fail_next("timeout", count=2, path=ORDER_PATH)  # the look-up times out as well

    with pytest.raises(OutcomeUnknown, match="timed out"):
        place_order_safely(exchange, market_buy("once-7"), attempts=3, sleep=RecordingSleep())

    assert len(fake.placed_orders) == 1
    assert len(fake.requests_to("POST", ORDER_PATH)) == 1
    assert len(fake.requests_to("GET", ORDER_PATH)) == 1


def test_permanent_rejection_is_not_retried(fake: BinanceFake, exchange: BinanceExchange) -> None:
    sleep = RecordingSleep()

    with pytest.raises(InsufficientBalance):
        place_order_safely(exchange, market_buy(quantity="1"), sleep=sleep)

    assert sleep.delays == []
    assert len(fake.requests_to("POST", ORDER_PATH)) == 1

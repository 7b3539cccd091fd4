"""Choosing a user's exchange: Binance with their key, or the paper exchange without one."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from tradebot.crypto.vault import ExchangeCredentials
from tradebot.errors import RetryableExchangeError
from tradebot.exchange.paper import PaperExchange
from tradebot.market.prices import read_price
from tradebot.market.symbols import all_filters
from tradebot.settings import get_settings

if TYPE_CHECKING:
    from tradebot.exchange.binance import BinanceExchange
    from tradebot.exchange.clients import ClientPool


def latest_price(symbol: str) -> Decimal:
    """The cached market price; retryable when there is none or it is stale."""
    from tradebot.errors import NotFound

    try:
        cached = read_price(symbol)
    except NotFound as exc:
        raise RetryableExchangeError(f"No market price for {symbol} yet") from exc
    if cached.stale:
        raise RetryableExchangeError(f"The market price of {symbol} is stale")
    return cached.price


def paper_exchange(session: Session, user_id: str) -> PaperExchange:
    """The simulated exchange for `user_id`, inside `session`'s transaction."""
    settings = get_settings()
    return PaperExchange(session, user_id, all_filters(), latest_price, settings.paper_fee_rate)


@cache
def binance_clients() -> ClientPool:
    """The idle Binance clients of this execution environment (see `ClientPool`)."""
    from tradebot.exchange.clients import ClientPool

    return ClientPool()


def binance_exchange(credentials: ExchangeCredentials | None = None) -> BinanceExchange:
    """Binance spot with the user's key (testnet per the key's flag), or keyless for prices.

    Its client comes from this environment's pool and goes back there on `close()`, so its
    kept-alive connection serves the next call with the same key. Every call, keyed or not,
    counts against the request budget all functions share (one IP, one weight limit).
    """
    from tradebot.exchange.binance import BinanceExchange
    from tradebot.exchange.weight import request_budget

    settings = get_settings()
    testnet = credentials.testnet if credentials else False
    base_url = settings.binance_base_url
    if testnet and settings.binance_testnet_base_url:
        base_url = settings.binance_testnet_base_url
    return BinanceExchange(
        credentials.api_key.get_secret_value() if credentials else None,
        credentials.api_secret if credentials else None,
        testnet=testnet,
        base_url=base_url or None,
        timeout_s=settings.binance_timeout_s,
        recv_window_ms=settings.binance_recv_window_ms,
        clients=binance_clients(),
        budget=request_budget(),
        key_type=credentials.key_type if credentials else "hmac",
    )

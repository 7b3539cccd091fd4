"""Fixtures of the attacker-side tests: users, prices, a live account on the Binance fake.

None is autouse: a test pays only for what it asks for.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.binance_server import BinanceFake
from tests.trading_support import API_KEY, API_SECRET, new_trader, point_at_fake

User = tuple[str, str]  # (user id, access token)


@pytest.fixture
def prices() -> None:
    """Cached prices for every symbol, as the scheduled update writes them."""
    from tradebot.market.updater import refresh_prices

    refresh_prices()


@pytest.fixture
def alice() -> User:
    """A user with a real token; written directly, so no argon2 hash is paid."""
    return new_trader("alice@example.com")


@pytest.fixture
def mallory() -> User:
    """Another user, the one who tries what she should not."""
    return new_trader("mallory@example.com")


@pytest.fixture
def binance_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[BinanceFake]:
    """The Binance fake (checks HMAC signatures) for the key in `tests.trading_support`."""
    fake = BinanceFake(api_key=API_KEY, api_secret=API_SECRET)
    with fake:
        point_at_fake(monkeypatch, fake, timeout_s="2")
        yield fake


@pytest.fixture(autouse=True)
def _stores(clean_state: None) -> None:
    """This tier runs against the database and Redis (tests/stores.py), clean for each test."""

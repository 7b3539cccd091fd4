"""The execution environment's pool of python-binance clients: a client (and its kept-alive
connection) serves the next call with the same key, never two callers at once, never another
key, and the pool stays bounded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr
from tradebot.crypto.vault import ExchangeCredentials
from tradebot.exchange.base import OrderRequest
from tradebot.exchange.binance import BinanceExchange
from tradebot.exchange.clients import ClientPool
from tradebot.exchange.factory import binance_clients, binance_exchange

from tests.fakes.binance_server import BinanceFake
from tests.support import configure

KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


class FakeSession:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


class FakeClient:
    def __init__(self) -> None:
        self.session = FakeSession()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> Iterator[BinanceFake]:
    with BinanceFake(api_key=KEY, api_secret=SECRET) as server:
        yield server


def connect(fake: BinanceFake, pool: ClientPool, secret: str = SECRET) -> BinanceExchange:
    return BinanceExchange(KEY, SecretStr(secret), base_url=fake.base_url, clients=pool)


def market_buy(client_order_id: str) -> OrderRequest:
    return OrderRequest(
        symbol="BTCUSDT",
        side="BUY",
        type="MARKET",
        client_order_id=client_order_id,
        quantity=Decimal("0.001"),
    )


# --- the pool itself --------------------------------------------------------------------------


def test_a_client_given_back_is_taken_again_by_its_key_only() -> None:
    pool = ClientPool()
    client = FakeClient()
    mine, other = pool.key("key", "secret"), pool.key("key", "another secret")

    pool.give(mine, client)

    assert pool.take(other) is None
    assert pool.take(mine) is client
    assert pool.take(mine) is None  # taken: nobody else gets it until it is given back


def test_the_pool_keeps_at_most_max_idle_clients_and_closes_the_oldest() -> None:
    pool = ClientPool(max_idle=2)
    clients = [FakeClient() for _ in range(3)]
    for i, client in enumerate(clients):
        pool.give(pool.key(i), client)

    assert len(pool) == 2
    assert clients[0].session.closed
    assert pool.take(pool.key(0)) is None
    assert pool.take(pool.key(2)) is clients[2]
    assert not clients[2].session.closed


def test_a_client_idle_too_long_is_closed_not_reused() -> None:
    clock = Clock()
    pool = ClientPool(max_idle_s=60, clock=clock)
    client = FakeClient()
    pool.give(pool.key("k"), client)

    clock.now += 61

    assert pool.take(pool.key("k")) is None
    assert client.session.closed
    assert len(pool) == 0


def test_clear_closes_every_idle_client() -> None:
    pool = ClientPool()
    clients = [FakeClient(), FakeClient()]
    for i, client in enumerate(clients):
        pool.give(pool.key(i), client)

    pool.clear()

    assert len(pool) == 0
    assert all(c.session.closed for c in clients)


def test_the_pool_shows_no_secret() -> None:
    pool = ClientPool()
    key = pool.key("api-key", SECRET)
    pool.give(key, FakeClient())

    assert SECRET.encode() not in key
    assert SECRET not in repr(pool)
    assert SECRET not in repr(vars(pool))


# --- BinanceExchange with a pool, against the fake ----------------------------------------------


def test_one_key_reuses_one_client_across_exchanges(fake: BinanceFake) -> None:
    pool = ClientPool()
    first = connect(fake, pool)
    first.place_order(market_buy("pool-1"))
    client = first._client()
    first.close()

    second = connect(fake, pool)
    second.place_order(market_buy("pool-2"))

    assert second._client() is client
    second.close()
    assert len(pool) == 1
    assert [o["newClientOrderId"] for o in fake.placed_orders] == ["pool-1", "pool-2"]
    pool.clear()


def test_another_secret_never_gets_that_client(fake: BinanceFake) -> None:
    pool = ClientPool()
    right = connect(fake, pool)
    right.ping()
    client = right._client()
    right.close()

    wrong = connect(fake, pool, secret="not-the-secret")

    assert wrong._client() is not client
    wrong.close()
    pool.clear()


def test_concurrent_users_of_one_key_each_get_a_client_of_their_own(fake: BinanceFake) -> None:
    pool = ClientPool()
    fake.latency_s = 0.05  # the calls overlap
    seen: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def place(i: int) -> None:
        exchange = connect(fake, pool)
        try:
            start.wait(5)
            result = exchange.place_order(market_buy(f"concurrent-{i}"))
            assert result.client_order_id == f"concurrent-{i}"
            seen.append(exchange._client())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            exchange.close()

    threads = [threading.Thread(target=place, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert errors == []
    assert len({id(client) for client in seen}) == 4
    assert len(pool) == 4
    pool.clear()


def test_the_factory_hands_out_pooled_exchanges(
    fake: BinanceFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, binance_base_url=fake.base_url)
    credentials = ExchangeCredentials(
        api_key=SecretStr(KEY), api_secret=SecretStr(SECRET), testnet=True
    )
    binance_clients().clear()

    first = binance_exchange(credentials)
    first.ping()
    client = first._client()
    first.close()
    second = binance_exchange(credentials)

    assert second._client() is client
    second.close()
    binance_clients().clear()

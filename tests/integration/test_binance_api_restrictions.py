"""The Binance fake's GET /sapi/v1/account/apiRestrictions, through the real python-binance
client as the exchange adapter builds it (its /sapi base pointed at the fake with the rest)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from tradebot.exchange.binance import BinanceExchange

from tests.fakes.binance_server import API_RESTRICTIONS_PATH, BinanceFake
from tests.trading_support import API_KEY, API_SECRET, WRONG_SECRET

# Every field Binance documents for the endpoint (wallet: "Get API Key Permission").
DOCUMENTED = {
    "ipRestrict",
    "createTime",
    "enableReading",
    "enableWithdrawals",
    "enableInternalTransfer",
    "enableMargin",
    "enableFutures",
    "permitsUniversalTransfer",
    "enableVanillaOptions",
    "enableFixApiTrade",
    "enableFixReadOnly",
    "enableSpotAndMarginTrading",
    "enablePortfolioMarginTrading",
}


@pytest.fixture
def fake() -> Iterator[BinanceFake]:
    with BinanceFake(api_key=API_KEY, api_secret=API_SECRET) as server:
        yield server


def permissions(fake: BinanceFake, secret: str = API_SECRET) -> Any:
    """python-binance's `get_account_api_permissions`, on the client the adapter builds."""
    exchange = BinanceExchange(API_KEY, SecretStr(secret), base_url=fake.base_url, timeout_s=2)
    try:
        # The raw answer, as Binance sends it (`key_permissions` reads it as KeyPermissions).
        return exchange._client().get_account_api_permissions()
    finally:
        exchange.close()


def test_the_permissions_of_a_trading_key_come_back_as_binance_documents_them(
    fake: BinanceFake,
) -> None:
    answer = permissions(fake)

    assert set(answer) == DOCUMENTED
    assert answer["enableReading"] is True
    assert answer["enableSpotAndMarginTrading"] is True
    assert answer["enableWithdrawals"] is False
    assert answer["ipRestrict"] is False
    assert isinstance(answer["createTime"], int)
    (request,) = fake.requests
    assert (request.method, request.path) == ("GET", API_RESTRICTIONS_PATH)
    assert request.headers["x-mbx-apikey"] == API_KEY
    assert {"timestamp", "signature"} <= set(request.params)
    assert fake.used_weight() == 1  # Binance: request weight (IP) 1


def test_each_fake_reports_the_permissions_it_is_given(fake: BinanceFake) -> None:
    fake.api_restrictions.update(
        ipRestrict=True, enableWithdrawals=True, permitsUniversalTransfer=True
    )
    other = BinanceFake(api_key=API_KEY, api_secret=API_SECRET)

    answer = permissions(fake)

    assert (answer["ipRestrict"], answer["enableWithdrawals"]) == (True, True)
    assert answer["permitsUniversalTransfer"] is True
    assert other.api_restrictions["enableWithdrawals"] is False


def test_the_permissions_request_is_signed_and_checked(fake: BinanceFake) -> None:
    from binance.exceptions import BinanceAPIException

    with pytest.raises(BinanceAPIException) as caught:
        permissions(fake, secret=WRONG_SECRET)
    unsigned = httpx.get(f"{fake.base_url}{API_RESTRICTIONS_PATH}", timeout=2)

    assert caught.value.code == -1022
    assert unsigned.status_code == 401
    assert unsigned.json()["code"] == -2014


def test_the_testnet_answers_404_for_the_permissions_endpoint(fake: BinanceFake) -> None:
    from binance.exceptions import BinanceAPIException

    exchange = BinanceExchange(
        API_KEY, SecretStr(API_SECRET), testnet=True, base_url=fake.testnet_base_url
    )
    try:
        with pytest.raises(BinanceAPIException) as caught:
            exchange._client().get_account_api_permissions()
    finally:
        exchange.close()

    assert caught.value.status_code == 404
    assert [(r.path, r.testnet) for r in fake.requests] == [(API_RESTRICTIONS_PATH, True)]

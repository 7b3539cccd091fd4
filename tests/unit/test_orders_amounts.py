"""Order amounts: exact decimals in, plain decimal strings out; NaN, inf and exponents refused."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from tradebot.orders.schemas import TradeCreate, parse_amount, plain

BASE = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "price": "90000"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.001", Decimal("0.001")),
        (" 0.001 ", Decimal("0.001")),
        ("95000.00", Decimal("95000.00")),
        (0.001, Decimal("0.001")),  # a JSON number: its shortest round-trip digits, not binary
        (0.1, Decimal("0.1")),
        (3, Decimal(3)),
        (1e5, Decimal(100000)),  # a JSON number in exponent form is still a number
        ("0." + "0" * 17 + "1", Decimal("1e-18")),
    ],
)
def test_amounts_parse_to_exact_decimals(value: Any, expected: Decimal) -> None:
    assert parse_amount(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "NaN", float("nan"), "Infinity", float("inf"), float("-inf"), "1e5", "1E-3", "-0.001",
        -0.001, "0", 0, "0.000", "0." + "0" * 18 + "1", "", " ", "0x10", "1,5", "1_000",
        True, None, [], {}, "\uff11", "1e15", "1" + "0" * 15,
    ],
)  # fmt: skip
def test_malformed_amounts_are_refused(value: Any) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message is checked through the API
        parse_amount(value)


def test_a_refused_amount_names_its_field() -> None:
    with pytest.raises(ValidationError) as caught:
        TradeCreate.model_validate({**BASE, "quantity": "NaN"})

    assert [error["loc"] for error in caught.value.errors()] == [("quantity",)]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0.00100000"), "0.001"),
        (Decimal("1E+2"), "100"),
        (Decimal("1E-8"), "0.00000001"),
        (Decimal("95000.00"), "95000"),
        (Decimal(0), "0"),
    ],
)
def test_amounts_are_written_as_plain_decimal_strings(value: Decimal, text: str) -> None:
    assert plain(value) == text


def test_a_trade_request_serializes_amounts_as_strings() -> None:
    body = TradeCreate.model_validate({**BASE, "quantity": 0.0100})

    assert body.model_dump(mode="json")["quantity"] == "0.01"
    assert body.model_dump(mode="json")["price"] == "90000"

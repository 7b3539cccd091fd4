"""Recording a fill names the symbol's base and quote assets; once the filters have named them
they are remembered, so a fill does not read every symbol's filters from Redis again."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tradebot.exchange.base import SymbolFilters
from tradebot.orders import recording


def _filters(symbol: str, base: str, quote: str) -> SymbolFilters:
    one = Decimal(1)
    return SymbolFilters(symbol, base, quote, one, one, one, one, one, one, one)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def all_filters() -> dict[str, SymbolFilters]:
        calls.append("read")
        return {"WBTCBTC": _filters("WBTCBTC", "WBTC", "BTC")}

    monkeypatch.setattr(recording, "all_filters", all_filters)
    monkeypatch.setattr(recording, "_ASSETS", {})
    return calls


def test_the_filters_name_the_assets_once_then_they_are_remembered(reads: list[str]) -> None:
    assert recording._split("WBTCBTC") == ("WBTC", "BTC")
    assert recording._split("WBTCBTC") == ("WBTC", "BTC")

    assert reads == ["read"]


def test_a_symbol_the_filters_do_not_know_is_guessed_and_asked_again(reads: list[str]) -> None:
    assert recording._split("NEWCOINUSDT") == ("NEWCOIN", "USDT")
    assert recording._split("NEWCOINUSDT") == ("NEWCOIN", "USDT")

    assert reads == ["read", "read"]  # its filters may arrive later; a guess is not remembered


def test_the_remembered_symbols_are_bounded(
    reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recording, "_MAX_KNOWN_SYMBOLS", 0)

    recording._split("WBTCBTC")
    recording._split("WBTCBTC")

    assert reads == ["read", "read"]
    assert recording._ASSETS == {}

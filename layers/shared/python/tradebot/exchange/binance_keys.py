"""What Binance says about a key and its account, read before a key is stored
(accounts/keycheck.py). Mixed into `BinanceExchange` (exchange/binance.py), whose signed-call
plumbing it uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tradebot.exchange.base import KeyPermissions, SpotAccount
from tradebot.exchange.binance_wire import key_permissions, spot_account


class KeyReads:
    """Reads about the key itself; the class that inherits it provides `_signed`."""

    def _signed(self, operation: str, call: Callable[[Any], Any], *, placing: bool = False) -> Any:
        raise NotImplementedError

    def spot_account(self) -> SpotAccount:
        """Whether the key's account may trade spot (GET /api/v3/account, weight 20)."""
        return spot_account(self._signed("account", lambda client: client.get_account()))

    def key_permissions(self) -> KeyPermissions:
        """What the key may do (GET /sapi/v1/account/apiRestrictions, weight 1). binance.com
        only: the spot testnet has no /sapi endpoints."""
        data = self._signed("key permissions", lambda client: client.get_account_api_permissions())
        return key_permissions(data)

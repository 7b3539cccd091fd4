"""Checking an exchange key with the exchange before it is stored.

Testnet: a signed account read (GET /api/v3/account, weight 20), which proves key and signature
and says whether the account can trade. binance.com also answers what the key may do
(GET /sapi/v1/account/apiRestrictions, weight 1; the spot testnet has no /sapi): a key that can
withdraw or move funds to another account is refused, as this service needs none of that and a
leaked key that can would empty the account.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from tradebot.accounts.schemas import ApiKeyCreate
from tradebot.crypto.vault import ExchangeCredentials
from tradebot.errors import (
    ExchangeError,
    FieldError,
    InvalidApiKey,
    KeyRefused,
    RetryableExchangeError,
)
from tradebot.exchange.base import KeyPermissions
from tradebot.exchange.retry import with_retries

_SIGNATURE_INVALID = -1022
_KEY_FORMAT_INVALID = -2014
_KEY_UNKNOWN = -2008
# Binance's setting for each permission a key must not have, as its API management page names it.
_FORBIDDEN = (
    ("withdrawals", "can withdraw: turn off 'Enable Withdrawals'"),
    ("internal_transfer", "can transfer between accounts: turn off 'Enable Internal Transfer'"),
    ("universal_transfer", "can transfer universally: turn off 'Permits Universal Transfer'"),
)


@dataclass(frozen=True)
class CheckedKey:
    """What the exchange said about a key it accepted."""

    ip_restricted: bool | None  # None: not known (the testnet does not say)
    permissions: list[str]


def secret_field(body: ApiKeyCreate) -> str:
    """The field holding the key's secret part: `private_key` (Ed25519) or `api_secret`."""
    return "private_key" if body.key_type == "ed25519" else "api_secret"


def check_key(body: ApiKeyCreate) -> CheckedKey:
    """Ask the exchange about the key; `KeyRefused` (422) naming the field and why when it is
    not fit to store, `RetryableExchangeError` (503) or `ExchangeError` (502) when the exchange
    could not say. Sends nothing but reads."""
    from tradebot.exchange.factory import binance_exchange

    secret = body.private_key if body.key_type == "ed25519" else body.api_secret
    credentials = ExchangeCredentials(
        api_key=body.api_key,
        api_secret=secret or SecretStr(""),
        testnet=body.testnet,
        key_type=body.key_type,
    )
    exchange = binance_exchange(credentials)
    try:
        permissions = None if body.testnet else with_retries(exchange.key_permissions, 2)
        if permissions is not None:
            _refuse_unfit(permissions)
        account = with_retries(exchange.spot_account, 2)
    except InvalidApiKey as exc:
        raise _refused_by_exchange(body, exc) from exc
    except RetryableExchangeError as exc:
        raise RetryableExchangeError(
            f"Binance could not be asked about the key, so it was not stored: {exc.detail}",
            exc.code,
            exc.retry_after_s,
        ) from exc
    except KeyRefused:
        raise
    except ExchangeError as exc:
        raise ExchangeError(
            f"Binance's answer about the key could not be used, so it was not stored: {exc.detail}",
            exc.code,
        ) from exc
    finally:
        exchange.close()
    if not account.can_trade:
        raise _refusal([FieldError("api_key", "its account cannot trade (canTrade is false)")])
    return CheckedKey(
        ip_restricted=permissions.ip_restricted if permissions is not None else None,
        permissions=_permission_names(permissions),
    )


def _refuse_unfit(permissions: KeyPermissions) -> None:
    problems = [message for flag, message in _FORBIDDEN if getattr(permissions, flag)]
    if not permissions.spot_trading:
        problems.append("cannot trade spot: turn on 'Enable Spot & Margin Trading'")
    if not permissions.reading:
        problems.append("cannot read the account: turn on 'Enable Reading'")
    if problems:
        raise _refusal([FieldError("api_key", message) for message in problems])


def _refused_by_exchange(body: ApiKeyCreate, error: InvalidApiKey) -> KeyRefused:
    if error.code == _SIGNATURE_INVALID:
        field = secret_field(body)
        message = f"Binance says the signature is not valid: this {field} is not this key's"
    elif error.code in (_KEY_FORMAT_INVALID, _KEY_UNKNOWN):
        field, message = "api_key", "Binance does not know this key"
    else:
        field = "api_key"
        message = (
            "Binance refused the key: it is invalid, deleted, restricted to IPs this service "
            "does not use, or lacks a permission"
        )
    code = f" (code {error.code})" if error.code is not None else ""
    return _refusal([FieldError(field, message + code)])


def _refusal(errors: list[FieldError]) -> KeyRefused:
    detail = "; ".join(f"{e.field} {e.message}" for e in errors)
    return KeyRefused(f"The key was not stored: {detail}", errors)


def _permission_names(permissions: KeyPermissions | None) -> list[str]:
    if permissions is None:
        return ["read", "spot"]  # the account read worked and the account can trade
    granted = {
        "read": permissions.reading,
        "spot": permissions.spot_trading,
        "margin": permissions.margin,
        "futures": permissions.futures,
        "options": permissions.options,
        "portfolio_margin": permissions.portfolio_margin,
    }
    return [name for name, on in granted.items() if on]

"""Reading Binance's answers about a key: a flag it leaves out never lets a key through."""

from __future__ import annotations

import pytest
from tradebot.crypto.ed25519 import normalized_private_key
from tradebot.exchange.binance_wire import key_permissions, spot_account

TRADING_KEY = {
    "ipRestrict": True,
    "enableReading": True,
    "enableSpotAndMarginTrading": True,
    "enableWithdrawals": False,
    "enableInternalTransfer": False,
    "permitsUniversalTransfer": False,
}


def test_a_trading_key_reads_as_binance_reports_it() -> None:
    permissions = key_permissions(TRADING_KEY)

    assert permissions.ip_restricted is True
    assert (permissions.reading, permissions.spot_trading) == (True, True)
    assert not (
        permissions.withdrawals or permissions.internal_transfer or permissions.universal_transfer
    )


@pytest.mark.parametrize(
    ("missing", "risky"),
    [
        ("enableWithdrawals", "withdrawals"),
        ("enableInternalTransfer", "internal_transfer"),
        ("permitsUniversalTransfer", "universal_transfer"),
    ],
)
def test_a_missing_transfer_flag_counts_as_granted(missing: str, risky: str) -> None:
    answer = {k: v for k, v in TRADING_KEY.items() if k != missing}

    assert getattr(key_permissions(answer), risky) is True


def test_a_missing_or_non_boolean_trading_flag_counts_as_not_granted() -> None:
    answer = {**TRADING_KEY, "enableSpotAndMarginTrading": "true"}
    del answer["enableReading"]

    permissions = key_permissions(answer)

    assert (permissions.reading, permissions.spot_trading) == (False, False)


def test_an_account_read_without_can_trade_cannot_trade() -> None:
    assert spot_account({}).can_trade is False
    assert spot_account({"canTrade": True, "permissions": ["SPOT"]}).permissions == ("SPOT",)


def test_an_ed25519_pem_is_normalized_and_other_text_refused_without_quoting_it() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    pem = (
        Ed25519PrivateKey.generate()
        .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        .decode()
    )

    assert normalized_private_key(f"\n  {pem}\n\n") == pem
    assert len(pem) <= 120  # python-binance reads a longer PEM as an RSA key
    with pytest.raises(ValueError, match="is not a PEM private key") as refused:
        normalized_private_key("secret-looking garbage 123")
    assert "garbage" not in str(refused.value)

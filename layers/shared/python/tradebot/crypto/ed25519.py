"""Ed25519 private keys as Binance uses them: PKCS#8 PEM, checked and put in one canonical form."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)


def normalized_private_key(pem: str) -> str:
    """The key as unencrypted PKCS#8 PEM; ValueError (never quoting the key) unless `pem` is an
    unencrypted Ed25519 private key.

    An encrypted PEM is refused: its passphrase would have to be stored next to it, which adds
    nothing to the encryption at rest, and python-binance reads a PEM that long as an RSA key.
    """
    try:
        key = load_pem_private_key(pem.strip().encode(), password=None)
    except TypeError as exc:  # "Password was not given but private key is encrypted"
        raise ValueError(
            "is an encrypted PEM; give the key unencrypted (it is stored encrypted here)"
        ) from exc
    except (ValueError, UnicodeError) as exc:
        raise ValueError("is not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("is not an Ed25519 private key")
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()

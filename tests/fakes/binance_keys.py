"""How the Binance fake checks a signed request's signature, per key type, as Binance does.

HMAC keys: the hex HMAC-SHA256 of the payload with the secret. Ed25519 keys: Binance keeps the
public key the user registered for the API key, and the signature is the base64 of the Ed25519
signature of the payload, URL-encoded in the request. The payload is totalParams: the query
string followed by the body, without the signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)


def hmac_valid(secret: str, payload: str, signature: str) -> bool:
    """Whether `signature` is the hex HMAC-SHA256 of `payload` under `secret`."""
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature.lower(), expected)


def ed25519_valid(public_key: Ed25519PublicKey, payload: str, signature: str) -> bool:
    """Whether `signature` (URL-encoded base64) is `public_key`'s signature of `payload`."""
    try:
        raw = base64.b64decode(unquote(signature), validate=True)
        public_key.verify(raw, payload.encode())
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True


def new_ed25519_pem() -> str:
    """A fresh Ed25519 private key as unencrypted PKCS#8 PEM, as Binance's key generator makes."""
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


def public_key_of(pem: str) -> Ed25519PublicKey:
    """The public key a user registers with Binance for the private key `pem`."""
    key = load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key.public_key()

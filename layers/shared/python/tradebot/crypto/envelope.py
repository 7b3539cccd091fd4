"""Envelope encryption bound to a context: `seal(plaintext, context)` / `unseal(token, context)`.

Each seal draws a fresh 256-bit data key, encrypts the plaintext with AES-256-GCM and stores the
data key wrapped beside it. The context (for an exchange key: user id, credential id, purpose)
is authenticated twice: as the AES-GCM associated data, and as the KMS EncryptionContext (or the
local wrap's associated data) of the data key. A token copied into another user's row, or onto
another credential or purpose, does not open: KMS refuses to unwrap its data key, and AES-GCM
would refuse it anyway.

Wrapping keys: with `KMS_KEY_ID` set, KMS GenerateDataKey/Decrypt. Otherwise (local stack,
tests) AES-256-GCM under a local master key derived (HKDF-SHA256, own label) from each of the
app secret's Fernet keys, newest first: the placeholder key is refused outside local like the
others, and rotating FERNET_KEYS then `make rotate` rotates the master key too.

Token: "v2." + base64url (no padding) of
    provider (1 byte: 1 local, 2 KMS) | key id length (2) | key id | wrapped length (2) | wrapped
    | nonce (12) | AES-GCM ciphertext and tag
The AES-GCM associated data is the canonical JSON of the context followed by every byte before
the nonce, so no byte of the token can change without the token being refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from tradebot.app_secrets import get_app_secrets
from tradebot.crypto.vault import VaultError
from tradebot.errors import ServiceUnavailable
from tradebot.settings import get_settings

PREFIX = "v2."
LOCAL, KMS = 1, 2
NONCE_BYTES = 12
DATA_KEY_BYTES = 32
_HKDF_LABEL = b"tradebot envelope master key v1"

Context = Mapping[str, str]


class SealBroken(VaultError):
    """The token does not open under this context: tampered, or bound to another owner,
    credential or purpose. Never carries the token or the context's values."""


class KeyServiceUnavailable(ServiceUnavailable):
    """KMS could not be reached or throttled us: nothing is known about the token; retry."""


def canonical(context: Context) -> bytes:
    """The context as authenticated: sorted compact JSON of str -> str."""
    strings = all(isinstance(k, str) and isinstance(v, str) for k, v in context.items())
    if not context or not strings:
        raise ValueError("a context is a non-empty mapping of strings to strings")
    return json.dumps(dict(context), sort_keys=True, separators=(",", ":")).encode()


class WrappingKey(Protocol):
    """Where data keys come from and are unwrapped: KMS, or the local master keys."""

    @property
    def provider(self) -> int:
        """LOCAL or KMS: the token's first byte."""
        ...

    def new_data_key(self, context: Context) -> tuple[bytes, str, bytes]:
        """(plaintext data key, key id, wrapped data key)."""
        ...

    def unwrap(self, key_id: str, wrapped: bytes, context: Context) -> bytes:
        """The plaintext data key; `SealBroken` when it does not unwrap under `context`."""
        ...


@dataclass(frozen=True)
class LocalMasterKeys:
    """AES-256-GCM master keys, newest first, named by a digest of the key (never the key)."""

    keys: tuple[bytes, ...]
    provider: int = LOCAL

    def __repr__(self) -> str:
        return "LocalMasterKeys(<keys hidden>)"

    @staticmethod
    def key_id(key: bytes) -> str:
        """A non-secret name for a master key: the first 8 bytes of its SHA-256, in hex."""
        return "local:" + hashlib.sha256(key).hexdigest()[:16]

    def new_data_key(self, context: Context) -> tuple[bytes, str, bytes]:
        """A fresh data key wrapped under the newest master key, bound to `context`."""
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(NONCE_BYTES)
        wrapped = nonce + AESGCM(self.keys[0]).encrypt(nonce, data_key, canonical(context))
        return data_key, self.key_id(self.keys[0]), wrapped

    def unwrap(self, key_id: str, wrapped: bytes, context: Context) -> bytes:
        """Unwrap with the master key named `key_id`."""
        if len(wrapped) != NONCE_BYTES + DATA_KEY_BYTES + 16:
            raise SealBroken("a wrapped data key has the wrong length")
        for key in self.keys:
            if self.key_id(key) == key_id:
                try:
                    return AESGCM(key).decrypt(
                        wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], canonical(context)
                    )
                except InvalidTag as exc:
                    raise SealBroken("the data key does not unwrap under this context") from exc
        raise VaultError("stored credential is sealed under a master key no longer configured")


class KmsKey:
    """Data keys from KMS, bound to the context as the EncryptionContext."""

    provider = KMS

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id

    def new_data_key(self, context: Context) -> tuple[bytes, str, bytes]:
        """GenerateDataKey (AES_256) under the configured key."""
        answer = _kms_call(
            "generate_data_key",
            KeyId=self.key_id,
            KeySpec="AES_256",
            EncryptionContext=dict(context),
        )
        return answer["Plaintext"], answer["KeyId"], answer["CiphertextBlob"]

    def unwrap(self, key_id: str, wrapped: bytes, context: Context) -> bytes:
        """KMS Decrypt, naming the key the token says (KMS refuses another context)."""
        answer = _kms_call(
            "decrypt", CiphertextBlob=wrapped, KeyId=key_id, EncryptionContext=dict(context)
        )
        plaintext: bytes = answer["Plaintext"]
        return plaintext


# KMS's answers that mean "this ciphertext is not for this key and context" (a swapped or
# tampered token), as opposed to KMS being unreachable, throttling or misconfigured.
_REFUSED = frozenset({"InvalidCiphertextException", "IncorrectKeyException"})
_TRANSIENT = frozenset(
    {
        "ThrottlingException",
        "KMSInternalException",
        "DependencyTimeoutException",
        "LimitExceededException",
    }
)


def _kms_call(operation: str, **params: Any) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer: dict[str, Any] = getattr(kms_client(), operation)(**params)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _REFUSED:
            raise SealBroken("KMS refused the data key for this context") from None
        if code in _TRANSIENT:
            raise KeyServiceUnavailable("The key service is busy; try again shortly") from None
        raise VaultError(f"KMS {operation} failed: {code}") from None
    except BotoCoreError:
        raise KeyServiceUnavailable("The key service is unreachable; try again shortly") from None
    return answer


@cache
def kms_client() -> Any:
    """One KMS client per execution environment (boto3 imported only where KMS is used)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=2, read_timeout=3, retries={"max_attempts": 3, "mode": "standard"}
    )
    return boto3.client("kms", config=config)


class DataKeyCache:
    """Unwrapped data keys for a short while, like the AWS Encryption SDK's caching CMM: warm
    trading does not pay a KMS call per order. Bounded (least recently used goes first) and
    keyed by the wrapped key *and* its context, so a cached key never opens a swapped token."""

    def __init__(
        self, max_entries: int, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_entries, self.ttl_s, self.clock = max_entries, ttl_s, clock
        self._entries: OrderedDict[tuple[str, bytes, bytes], tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DataKeyCache({len(self._entries)} keys hidden)"

    def get(self, entry: tuple[str, bytes, bytes]) -> bytes | None:
        """The data key if cached and fresh."""
        with self._lock:
            found = self._entries.get(entry)
            if found is None:
                return None
            if self.clock() - found[0] > self.ttl_s:
                del self._entries[entry]
                return None
            self._entries.move_to_end(entry)
            return found[1]

    def put(self, entry: tuple[str, bytes, bytes], data_key: bytes) -> None:
        """Remember a data key; the oldest goes when full."""
        if self.max_entries <= 0 or self.ttl_s <= 0:
            return
        with self._lock:
            self._entries[entry] = (self.clock(), data_key)
            self._entries.move_to_end(entry)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every key."""
        with self._lock:
            self._entries.clear()


@cache
def data_key_cache() -> DataKeyCache:
    """The execution environment's data key cache, sized by the settings."""
    settings = get_settings()
    return DataKeyCache(settings.data_key_cache_size, settings.data_key_cache_ttl_s)


def derive_master_key(fernet_key: str) -> bytes:
    """The local master key derived from one Fernet key (HKDF-SHA256, own label)."""
    try:
        material = base64.urlsafe_b64decode(fernet_key.encode())
    except (binascii.Error, ValueError) as exc:
        raise VaultError("a configured Fernet key is not base64") from exc
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_LABEL).derive(material)


@cache
def _local_keys(fernet_keys: tuple[str, ...]) -> LocalMasterKeys:
    return LocalMasterKeys(tuple(derive_master_key(k) for k in fernet_keys))


def local_master_keys() -> LocalMasterKeys:
    """The local master keys, newest first (re-derived when the app secret rotates)."""
    return _local_keys(tuple(get_app_secrets().fernet_key_list))


def wrapping_key() -> WrappingKey:
    """What new seals use: KMS when KMS_KEY_ID is set, else the local master key."""
    key_id = get_settings().kms_key_id
    return KmsKey(key_id) if key_id else local_master_keys()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def seal(plaintext: str, context: Context, wrapping: WrappingKey | None = None) -> str:
    """A v2 token of `plaintext` that opens only under the same `context`.

    `wrapping`: the key that wraps its data key; by default `wrapping_key()`.
    """
    aad = canonical(context)
    wrapping = wrapping or wrapping_key()
    data_key, key_id, wrapped = wrapping.new_data_key(context)
    name = key_id.encode()
    header = struct.pack(">BH", wrapping.provider, len(name)) + name
    header += struct.pack(">H", len(wrapped)) + wrapped
    nonce = os.urandom(NONCE_BYTES)
    body = AESGCM(data_key).encrypt(nonce, plaintext.encode(), aad + header)
    return PREFIX + _b64(header + nonce + body)


@dataclass(frozen=True)
class Envelope:
    """A parsed token (nothing in it is secret without the wrapping key)."""

    provider: int
    key_id: str
    wrapped: bytes
    header: bytes
    nonce: bytes
    body: bytes


def parse(token: str) -> Envelope:
    """Split a v2 token; `SealBroken` when it is not one, exactly as `seal` writes them."""
    if not token.startswith(PREFIX):
        raise SealBroken("not a v2 token")
    text = token[len(PREFIX) :]
    try:
        blob = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        if _b64(blob) != text:  # one encoding only: a changed character is a changed token
            raise ValueError("not canonical base64url")
        provider, name_len = struct.unpack_from(">BH", blob, 0)
        offset = 3 + name_len
        key_id = blob[3:offset].decode()
        (wrapped_len,) = struct.unpack_from(">H", blob, offset)
        wrapped = blob[offset + 2 : offset + 2 + wrapped_len]
        offset += 2 + wrapped_len
        nonce, body = blob[offset : offset + NONCE_BYTES], blob[offset + NONCE_BYTES :]
        if provider not in (LOCAL, KMS) or len(wrapped) != wrapped_len:
            raise ValueError("unknown provider or short token")
        if len(nonce) != NONCE_BYTES or len(body) < 16:
            raise ValueError("short token")
    except (binascii.Error, ValueError, struct.error, UnicodeDecodeError) as exc:
        raise SealBroken("malformed v2 token") from exc
    return Envelope(provider, key_id, wrapped, blob[:offset], nonce, body)


def unseal(token: str, context: Context) -> SecretStr:
    """The plaintext of a v2 token, if it was sealed under `context` and is unchanged."""
    envelope = parse(token)
    aad = canonical(context)
    cache_entry = (envelope.key_id, envelope.wrapped, aad)
    cache_ = data_key_cache()
    data_key = cache_.get(cache_entry)
    if data_key is None:
        wrapping: WrappingKey = (
            KmsKey(envelope.key_id) if envelope.provider == KMS else local_master_keys()
        )
        data_key = wrapping.unwrap(envelope.key_id, envelope.wrapped, context)
        cache_.put(cache_entry, data_key)
    try:
        plaintext = AESGCM(data_key).decrypt(envelope.nonce, envelope.body, aad + envelope.header)
    except InvalidTag as exc:
        raise SealBroken("the token does not open under this context") from exc
    return SecretStr(plaintext.decode())


def is_sealed(token: str) -> bool:
    """Whether `token` is a v2 envelope (else a legacy Fernet token)."""
    return token.startswith(PREFIX)


def reset_envelope() -> None:
    """Forget the KMS client, the cached data keys and derived master keys (tests, settings)."""
    kms_client.cache_clear()
    data_key_cache.cache_clear()
    _local_keys.cache_clear()

"""JWT access tokens: HS256 only, 256-bit keys, exp/iat/sub/iss/aud all required and checked.

Keys form a ring (`AppSecrets.jwt_keys`, newest first): a token is signed with the newest and
names it in its header's `kid` (the first 8 hex digits of the key's SHA-256); it verifies with
the key its `kid` names while that key is in the ring, and a `kid` not in the ring is refused.
A token without `kid` (signed before the ring) is checked against the newest key only.

A compact JWS (RFC 7515) signed with HMAC-SHA256, on the standard library alone: PyJWT's import
loads cryptography's x509 and elliptic-curve modules, which every cold start paid for. Tokens
are interchangeable with PyJWT's (same header, same compact JSON; the tests check both ways),
and verification refuses at least everything `jwt.decode(..., algorithms=["HS256"])` with
every claim required refuses; where noted it is stricter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from tradebot.app_secrets import get_app_secrets
from tradebot.errors import NotAuthenticated
from tradebot.settings import get_settings

ALGORITHM = "HS256"

# The one message for every refusal: which check failed is nobody's business but ours.
REFUSED = "Invalid or expired access token"
REQUIRED_CLAIMS = ("exp", "iat", "sub", "iss", "aud")
# Seconds of clock skew tolerated on exp/iat/nbf; 0 as PyJWT's default (and this code's before).
LEEWAY_S = 0
KID_HEX_DIGITS = 8
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")  # base64url, unpadded (RFC 7515 section 2)


class _Refused(Exception):
    """Internal: a check failed. Never leaves this module; the reason is for tests only."""


@dataclass(frozen=True)
class IssuedToken:
    """A signed access token and its lifetime in seconds."""

    access_token: str
    expires_in: int


@dataclass(frozen=True)
class AccessClaims:
    """Who a valid token speaks for: the user, and the session it was issued to (if any)."""

    user_id: str
    session_id: str | None


def key_id(key: str) -> str:
    """The `kid` of a signing key: the first 8 hex digits of its SHA-256 (names, never reveals)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:KID_HEX_DIGITS]


def issue_access_token(
    user_id: str, session_id: str | None = None, now: float | None = None
) -> IssuedToken:
    """Sign an access token for `user_id` and its session (`sid`) with the newest key."""
    settings = get_settings()
    issued_at = int(now if now is not None else time.time())
    claims = {
        "sub": user_id,
        "iat": issued_at,
        "exp": issued_at + settings.access_token_ttl_s,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": uuid.uuid4().hex,
    }
    if session_id is not None:
        claims["sid"] = session_id
    key = get_app_secrets().jwt_keys[0]
    return IssuedToken(access_token=_encode(claims, key), expires_in=settings.access_token_ttl_s)


def read_access_token(token: str, *, now: float | None = None) -> AccessClaims:
    """The user and session of a valid token; `NotAuthenticated` for anything else, no detail.

    Whether the session is still active is the caller's check (tradebot.auth.active).
    """
    settings = get_settings()
    try:
        claims = _decode(token, get_app_secrets().jwt_keys)
        _check_claims(
            claims,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            now=time.time() if now is None else now,
        )
    except _Refused:
        # `from None`: not even the internal reason travels with the error.
        raise NotAuthenticated(REFUSED) from None
    return AccessClaims(user_id=claims["sub"], session_id=claims.get("sid"))


def verify_access_token(token: str, *, now: float | None = None) -> str:
    """The user id of a valid token; `NotAuthenticated` for anything else, with no detail."""
    return read_access_token(token, now=now).user_id


def _encode(claims: dict[str, Any], key: str) -> str:
    """The compact HS256 JWS of `claims` with the key's `kid`, as PyJWT would write it."""
    # PyJWT sorts the header's keys: {"alg":"HS256","kid":"...","typ":"JWT"}.
    fields = {"alg": ALGORITHM, "kid": key_id(key), "typ": "JWT"}
    header = _b64encode(json.dumps(fields, separators=(",", ":"), sort_keys=True).encode())
    payload = _b64encode(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}"
    return f"{signing_input}.{_b64encode(_sign(signing_input.encode('ascii'), key))}"


def _signing_key(header: dict[str, Any], ring: list[str]) -> str:
    """The key of the ring that the header's `kid` names (the newest without one)."""
    if "kid" not in header:
        return ring[0]
    kid = header["kid"]
    if not isinstance(kid, str):
        raise _Refused("kid")
    for key in ring:
        if hmac.compare_digest(key_id(key), kid):
            return key
    raise _Refused("kid not in the ring")


def _decode(token: object, ring: list[str]) -> dict[str, Any]:
    """The payload of a well-formed HS256 JWS signed with a key of `ring`; claims are not
    checked here.

    Raises `_Refused` for anything else.
    """
    if not isinstance(token, str):
        raise _Refused("not a string")
    segments = token.split(".")
    if len(segments) != 3:
        raise _Refused("not three segments")
    header_segment, payload_segment, signature_segment = segments
    header = _json_object(_b64decode(header_segment))
    # The algorithm is pinned: "none", HS384/HS512 and any RS/ES/PS confusion are refused.
    if header.get("alg") != ALGORITHM:
        raise _Refused("algorithm")
    key = _signing_key(header, ring)
    # No JWS extension is implemented, so none can be critical (RFC 7515 section 4.1.11); an
    # unencoded payload ("b64": false, RFC 7797) is refused with it. PyJWT accepts
    # crit ["b64"] with b64 true, the same as no extension: nothing real is lost.
    if "crit" in header or "b64" in header:
        raise _Refused("extension")
    payload = _b64decode(payload_segment)
    signature = _b64decode(signature_segment)
    expected = _sign(f"{header_segment}.{payload_segment}".encode("ascii"), key)
    if not hmac.compare_digest(signature, expected):
        raise _Refused("signature")
    return _json_object(payload)  # parsed only once it is known to be ours


def _check_claims(claims: dict[str, Any], *, issuer: str, audience: str, now: float) -> None:
    """PyJWT's checks with `require` = REQUIRED_CLAIMS and default options; `_Refused` if not."""
    for name in REQUIRED_CLAIMS:
        if claims.get(name) is None:  # PyJWT: a null claim is a missing one
            raise _Refused(f"missing {name}")
    if _numeric_date(claims["iat"]) > now + LEEWAY_S:
        raise _Refused("issued in the future")
    if "nbf" in claims and _numeric_date(claims["nbf"]) > now + LEEWAY_S:
        raise _Refused("not yet valid")
    if _numeric_date(claims["exp"]) <= now - LEEWAY_S:
        raise _Refused("expired")
    if not isinstance(claims["iss"], str) or claims["iss"] != issuer:
        raise _Refused("issuer")
    audiences = claims["aud"]
    if isinstance(audiences, str):
        audiences = [audiences]
    if (
        not isinstance(audiences, list)
        or not audiences
        or not all(isinstance(item, str) for item in audiences)
        or audience not in audiences
    ):
        raise _Refused("audience")
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject:
        raise _Refused("subject")
    if "jti" in claims and not isinstance(claims["jti"], str):
        raise _Refused("jti")
    if "sid" in claims and (not isinstance(claims["sid"], str) or not claims["sid"]):
        raise _Refused("sid")


def _numeric_date(value: object) -> int:
    """A JSON number of seconds, truncated as PyJWT does (`int(value)`).

    Stricter than PyJWT, which also takes booleans and numeric strings: RFC 7519 says a number.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Refused("not a NumericDate")
    if isinstance(value, float) and not math.isfinite(value):
        raise _Refused("not a finite NumericDate")
    return int(value)


def _sign(signing_input: bytes, key: str) -> bytes:
    return hmac.new(key.encode("utf-8"), signing_input, hashlib.sha256).digest()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(segment: str) -> bytes:
    """Strict base64url: its alphabet only, no padding, and only the canonical encoding.

    PyJWT also accepts correctly padded segments; no JWS encoder writes them.
    """
    if _SEGMENT.fullmatch(segment) is None or len(segment) % 4 == 1:
        raise _Refused("not base64url")
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise _Refused("not base64url") from None
    if _b64encode(data) != segment:  # stray bits in the last character
        raise _Refused("not canonical base64url")
    return data


def _json_object(data: bytes) -> dict[str, Any]:
    """A JSON object in UTF-8, without NaN/Infinity and without duplicate member names."""
    try:
        value = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_unique_members,
            parse_constant=_no_constant,
        )
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError included
        raise _Refused("not JSON") from None
    if not isinstance(value, dict):
        raise _Refused("not a JSON object")
    return value


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise ValueError("duplicate member name")  # RFC 7519 section 4: reject, or use the last
    return members


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")

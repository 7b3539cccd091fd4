"""JWT access tokens: HS256 only, 256-bit key, exp/iat/sub/iss/aud all required and checked."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

from tradebot.app_secrets import get_app_secrets
from tradebot.errors import NotAuthenticated
from tradebot.settings import get_settings

ALGORITHM = "HS256"


@dataclass(frozen=True)
class IssuedToken:
    """A signed access token and its lifetime in seconds."""

    access_token: str
    expires_in: int


def issue_access_token(user_id: str, now: float | None = None) -> IssuedToken:
    """Sign an access token for `user_id`."""
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
    key = get_app_secrets().jwt_secret.get_secret_value()
    token = jwt.encode(claims, key, algorithm=ALGORITHM)
    return IssuedToken(access_token=token, expires_in=settings.access_token_ttl_s)


def verify_access_token(token: str) -> str:
    """The user id of a valid token; `NotAuthenticated` for anything else, with no detail."""
    settings = get_settings()
    key = get_app_secrets().jwt_secret.get_secret_value()
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],  # pinned: "none" and RS/HS confusion are refused
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise NotAuthenticated("Invalid or expired access token") from exc
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise NotAuthenticated("Invalid or expired access token")
    return subject

"""Argon2id password hashing at OWASP's parameters, and the password policy."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

MIN_LENGTH = 12
MAX_LENGTH = 128  # bounds hashing work per request
COMMON = frozenset(
    {
        "password1234",
        "123456789012",
        "qwertyuiopas",
        "passwordpassword",
        "letmein12345",
        "iloveyou1234",
        "administrator",
        "welcome12345",
        "changeme1234",
        "trustno11234",
    }
)


def password_problem(password: str, email: str) -> str | None:
    """Why `password` is too weak, or None when it is acceptable (NIST 800-63B style)."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    lowered = password.lower()
    if lowered in COMMON or len(set(password)) < 4:
        return "is too common or too repetitive"
    local_part = email.split("@", 1)[0].lower()
    if len(local_part) >= 4 and local_part in lowered:
        return "must not contain your email address"
    return None


def hash_password(password: str) -> str:
    """An argon2id hash with a fresh salt."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; never raises for a wrong password or a bad hash."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so both paths cost the same."""
    return _HASHER.hash("no-such-user-placeholder-password")

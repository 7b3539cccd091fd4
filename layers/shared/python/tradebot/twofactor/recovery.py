"""Single-use recovery codes: random, shown once, stored only as hashes.

A code is 16 base32 characters (80 random bits), shown in four groups of four. Stored as
SHA-256 of the user's id and the code: with 80 bits of entropy an offline search through the
hash space is out of reach, so a deliberately slow hash (as passwords need) buys nothing here,
and the user id in the hash makes each user's codes a separate search. Input is forgiving:
case, spaces and dashes are ignored.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re

COUNT = 10
_RANDOM_BYTES = 10  # 80 bits: 16 base32 characters
_GROUP = 4
_BASE32 = re.compile(r"[A-Z2-7]{16}")


def new_codes(count: int = COUNT) -> list[str]:
    """`count` fresh codes, formatted for the user (`ABCD-EFGH-IJKL-MNOP`)."""
    codes = []
    for _ in range(count):
        plain = base64.b32encode(os.urandom(_RANDOM_BYTES)).decode()
        codes.append("-".join(plain[i : i + _GROUP] for i in range(0, len(plain), _GROUP)))
    return codes


def normalized(code: str) -> str | None:
    """The code's 16 characters without separators, upper case; None if it cannot be one."""
    plain = re.sub(r"[\s-]", "", code).upper()
    return plain if _BASE32.fullmatch(plain) else None


def code_hash(user_id: str, code: str) -> str | None:
    """What is stored for `code` of `user_id` (hex SHA-256); None when `code` is not a code."""
    plain = normalized(code)
    if plain is None:
        return None
    return hashlib.sha256(f"{user_id}\x00{plain}".encode()).hexdigest()

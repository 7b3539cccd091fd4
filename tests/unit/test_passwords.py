"""Password policy and argon2id hashing at OWASP's parameters."""

from __future__ import annotations

import pytest
from argon2 import extract_parameters
from argon2.low_level import Type
from tradebot.auth.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    dummy_hash,
    hash_password,
    password_problem,
    verify_password,
)

EMAIL = "trader@example.com"
GOOD = "correct horse battery staple"


def test_a_long_uncommon_password_is_accepted() -> None:
    assert password_problem(GOOD, EMAIL) is None


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("a1b2c3d4e5f", f"at least {MIN_LENGTH}"),
        ("x1y2" * 33, f"at most {MAX_LENGTH}"),
        ("Password1234", "too common"),
        ("abababababababab", "too common or too repetitive"),
        ("my-trader-password", "email"),
        ("TRADERs secret phrase", "email"),
    ],
    ids=["too-short", "too-long", "common-any-case", "repetitive", "email", "email-any-case"],
)
def test_a_weak_password_is_refused_with_the_reason(password: str, reason: str) -> None:
    problem = password_problem(password, EMAIL)
    assert problem is not None
    assert reason in problem


def test_the_boundary_lengths_are_accepted() -> None:
    assert password_problem("q7Wz!k2#Lp9v", EMAIL) is None  # exactly MIN_LENGTH
    assert password_problem(("q7Wz!k2#" * 16)[:MAX_LENGTH], EMAIL) is None


def test_a_short_email_local_part_is_not_held_against_the_password() -> None:
    # "jo" is too short a fragment to mean anything; refusing it would refuse half the alphabet.
    assert password_problem("enjoy the long journey", "jo@example.com") is None


def test_hashes_are_argon2id_with_owasp_parameters() -> None:
    encoded = hash_password(GOOD)

    parameters = extract_parameters(encoded)

    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert parameters.type is Type.ID
    assert parameters.memory_cost == 19 * 1024  # 19 MiB, in KiB
    assert parameters.time_cost == 2
    assert parameters.parallelism == 1


def test_the_dummy_hash_costs_the_same_as_a_real_one() -> None:
    assert extract_parameters(dummy_hash()) == extract_parameters(hash_password(GOOD))


def test_each_hash_has_its_own_salt() -> None:
    assert hash_password(GOOD) != hash_password(GOOD)


def test_the_right_password_verifies_and_a_wrong_one_does_not() -> None:
    encoded = hash_password(GOOD)
    assert verify_password(encoded, GOOD) is True
    assert verify_password(encoded, GOOD + " ") is False


def test_a_corrupt_hash_does_not_verify_and_does_not_raise() -> None:
    assert verify_password("not-a-hash", GOOD) is False
    assert verify_password("$argon2id$v=19$m=19456,t=2,p=1$broken", GOOD) is False

"""TOTP codes as authenticator apps make them (RFC 6238's own test vectors), the skew window,
and the shape of recovery codes."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest
from tradebot.twofactor import recovery, totp

# RFC 6238 appendix B: the SHA-1 seed, and its 8-digit codes; authenticator apps show the last 6.
RFC_SECRET = b"12345678901234567890"
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("now", "eight_digits"), RFC_VECTORS)
def test_codes_are_rfc_6238s_sha1_codes_truncated_to_six_digits(
    now: int, eight_digits: str
) -> None:
    assert totp.code_at(RFC_SECRET, totp.step_at(now)) == eight_digits[-6:]


def test_a_code_of_the_current_step_or_one_either_side_matches_that_step() -> None:
    now = 1_800_000_015.0  # 15 s into step 60_000_000
    current = totp.step_at(now)

    for offset in (-1, 0, 1):
        code = totp.code_at(RFC_SECRET, current + offset)
        assert totp.matching_step(RFC_SECRET, code, now) == current + offset


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_a_code_two_or_more_steps_away_does_not_match(offset: int) -> None:
    now = 1_800_000_015.0
    code = totp.code_at(RFC_SECRET, totp.step_at(now) + offset)

    assert totp.matching_step(RFC_SECRET, code, now) is None


FULLWIDTH_DIGITS = "\uff11\uff12\uff13\uff14\uff15\uff16"  # Unicode digits, not TOTP ones


@pytest.mark.parametrize(
    "code", ["", "12345", "1234567", "12345a", " 123456", "123456\n", FULLWIDTH_DIGITS]
)
def test_anything_but_six_ascii_digits_never_matches(code: str) -> None:
    assert not totp.looks_like_code(code)
    assert totp.matching_step(RFC_SECRET, code, 59) is None


def test_another_secrets_code_does_not_match() -> None:
    code = totp.code_at(b"another secret of twenty", totp.step_at(59))

    assert totp.matching_step(RFC_SECRET, code, 59) is None


def test_a_new_secret_is_160_random_bits_and_round_trips_through_base32() -> None:
    one, two = totp.new_secret(), totp.new_secret()

    assert len(one) == 20
    assert one != two
    encoded = totp.encode_secret(one)
    assert "=" not in encoded
    assert base64.b32decode(encoded) == one
    assert totp.decode_secret(encoded) == one


def test_the_provisioning_uri_names_the_issuer_account_and_secret() -> None:
    uri = totp.provisioning_uri(RFC_SECRET, "trader@example.com", "Tradebot")

    parts = urlsplit(uri)
    query = parse_qs(parts.query)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert parts.path == "/Tradebot:trader%40example.com"
    assert query["secret"] == [totp.encode_secret(RFC_SECRET)]
    assert query["issuer"] == ["Tradebot"]
    assert (query["digits"], query["period"], query["algorithm"]) == (["6"], ["30"], ["SHA1"])


def test_recovery_codes_are_ten_distinct_80_bit_codes_in_groups_of_four() -> None:
    codes = recovery.new_codes()

    assert len(codes) == len(set(codes)) == 10
    for code in codes:
        groups = code.split("-")
        assert [len(g) for g in groups] == [4, 4, 4, 4]
        assert recovery.normalized(code) == "".join(groups)


def test_a_recovery_code_is_recognised_whatever_its_case_spaces_or_dashes() -> None:
    code = recovery.new_codes(1)[0]
    stored = recovery.code_hash("user-1", code)

    for typed in (code.lower(), code.replace("-", " "), code.replace("-", ""), f" {code} "):
        assert recovery.code_hash("user-1", typed) == stored


def test_the_stored_hash_is_per_user_and_never_the_code() -> None:
    code = recovery.new_codes(1)[0]

    mine, theirs = recovery.code_hash("user-1", code), recovery.code_hash("user-2", code)
    plain = recovery.normalized(code)

    assert mine is not None
    assert plain is not None
    assert mine != theirs
    assert plain not in mine
    assert len(mine) == 64


@pytest.mark.parametrize("typed", ["", "123456", "ABCD-EFGH-IJKL-MNO", "ABCD-EFGH-IJKL-MNO1"])
def test_what_cannot_be_a_recovery_code_has_no_hash(typed: str) -> None:
    assert recovery.code_hash("user-1", typed) is None

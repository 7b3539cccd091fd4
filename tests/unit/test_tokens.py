"""Access tokens: HS256 only, with every registered claim required and checked."""

from __future__ import annotations

import time

import pytest
from tradebot.auth.tokens import issue_access_token, verify_access_token
from tradebot.errors import NotAuthenticated
from tradebot.settings import get_settings

from tests.support import sign_token, token_claims

USER = "0b7c1f52-1d9c-4f0e-a8b4-2f6f3b5d9e11"


def test_an_issued_token_verifies_to_its_user() -> None:
    issued = issue_access_token(USER)

    assert verify_access_token(issued.access_token) == USER
    assert issued.expires_in == get_settings().access_token_ttl_s


def test_a_hand_signed_token_with_all_claims_verifies() -> None:
    # Guards the tests below: each differs from this one in exactly one respect.
    assert verify_access_token(sign_token(token_claims(USER))) == USER


def test_an_expired_token_is_refused() -> None:
    long_ago = time.time() - get_settings().access_token_ttl_s - 60
    token = issue_access_token(USER, now=long_ago).access_token

    with pytest.raises(NotAuthenticated):
        verify_access_token(token)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: sign_token(token_claims(USER), key="k" * 48), id="wrong-key"),
        pytest.param(lambda: sign_token(token_claims(USER), algorithm="none"), id="alg-none"),
        pytest.param(
            lambda: sign_token(token_claims(USER), algorithm="HS512"),
            id="alg-hs512",
            marks=pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
        ),
        pytest.param(lambda: sign_token(token_claims(USER, aud="other-api")), id="audience"),
        pytest.param(lambda: sign_token(token_claims(USER, iss="someone-else")), id="issuer"),
        pytest.param(lambda: sign_token(token_claims(USER, sub=None)), id="no-sub"),
        pytest.param(lambda: sign_token(token_claims(USER, sub="")), id="empty-sub"),
        pytest.param(lambda: sign_token(token_claims(USER, exp=None)), id="no-exp"),
        pytest.param(lambda: sign_token(token_claims(USER, iat=None)), id="no-iat"),
        pytest.param(lambda: sign_token(token_claims(USER, aud=None)), id="no-aud"),
        pytest.param(lambda: sign_token(token_claims(USER, iss=None)), id="no-iss"),
        pytest.param(lambda: "not.a.jwt", id="garbage"),
        pytest.param(lambda: "", id="empty"),
    ],
)
def test_a_token_that_is_not_ours_is_refused_without_detail(token) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotAuthenticated) as refused:
        verify_access_token(token())

    assert refused.value.detail == "Invalid or expired access token"


def test_a_tampered_payload_is_refused() -> None:
    header, _payload, signature = issue_access_token(USER).access_token.split(".")
    other_payload = sign_token(token_claims("someone-else")).split(".")[1]

    with pytest.raises(NotAuthenticated):
        verify_access_token(f"{header}.{other_payload}.{signature}")

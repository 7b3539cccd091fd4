"""Access tokens: HS256 only, with every registered claim required and checked.

tradebot.auth.tokens is HS256 on the standard library; PyJWT (a test dependency only) is the
reference: tokens go both ways, and every token ours refuses, PyJWT refuses too unless listed
as a deliberate strictness of ours.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

import jwt
import pytest
from jwt import api_jwt
from tradebot.auth.tokens import ALGORITHM, issue_access_token, key_id, verify_access_token
from tradebot.errors import NotAuthenticated
from tradebot.settings import get_settings

from tests.conftest import TEST_JWT_SECRET
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


# --- interchangeable with PyJWT ---------------------------------------------------------------

KEY = TEST_JWT_SECRET  # the application's key in the tests (no SECRETS_NAME)
NOW = 1_750_000_000  # a fixed clock for both implementations below
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.fixture
def pyjwt_at_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """PyJWT reads the clock through `datetime.now`: pin it to NOW."""
    frozen = datetime.fromtimestamp(NOW, tz=UTC)

    class Clock(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Clock:
            return frozen  # type: ignore[return-value]

    monkeypatch.setattr(api_jwt, "datetime", Clock)


def pyjwt_decode(token: str) -> dict[str, Any]:
    """PyJWT's verdict with the options the application used when it ran on PyJWT."""
    settings = get_settings()
    claims: dict[str, Any] = jwt.decode(
        token,
        KEY,
        algorithms=["HS256"],
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        options={"require": ["exp", "iat", "sub", "iss", "aud"]},
    )
    return claims


def test_our_tokens_are_what_pyjwt_would_sign_and_pyjwt_verifies_them() -> None:
    token = issue_access_token(USER).access_token

    claims = pyjwt_decode(token)

    assert ALGORITHM == "HS256"
    assert claims["sub"] == USER
    header = {"alg": "HS256", "kid": key_id(KEY), "typ": "JWT"}
    assert jwt.get_unverified_header(token) == header
    expected = base64.urlsafe_b64encode(json.dumps(header, separators=(",", ":")).encode())
    assert token.split(".")[0] == expected.decode().rstrip("=")  # exactly those bytes
    assert jwt.encode(claims, KEY, algorithm="HS256", headers={"kid": key_id(KEY)}) == token


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="plain"),
        pytest.param({"aud": ["another-api", "tradebot-api"]}, id="audience-list"),
        pytest.param({"nbf": NOW - 10}, id="nbf-past"),
        pytest.param({"nbf": NOW}, id="nbf-now"),
        pytest.param({"iat": NOW - 0.5, "exp": NOW + 60.9}, id="float-dates"),
        pytest.param({"scope": ["x"], "jti": None}, id="extra-claim-no-jti"),
    ],
)
def test_pyjwt_tokens_verify_with_ours(overrides: dict[str, Any]) -> None:
    claims = token_claims(USER, **{"iat": NOW, "exp": NOW + 600, **overrides})
    token = jwt.encode(claims, KEY, algorithm="HS256", headers={"kid": key_id(KEY)})

    assert verify_access_token(token, now=NOW) == USER


def test_expiry_and_issue_time_are_checked_at_the_boundaries_as_pyjwt_does() -> None:
    token = sign_token(token_claims(USER, iat=NOW, exp=NOW + 60))

    assert verify_access_token(token, now=NOW) == USER  # iat == now is fine (no leeway)
    assert verify_access_token(token, now=NOW + 59.999) == USER
    for moment in (NOW + 60, NOW + 61, NOW - 0.001):  # exp <= now, or iat > now: refused
        with pytest.raises(NotAuthenticated):
            verify_access_token(token, now=moment)


# --- every refusal, cross-checked with PyJWT -------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _claims(**overrides: Any) -> dict[str, Any]:
    return token_claims(USER, **{"iat": NOW, "exp": NOW + 600, **overrides})


def _claims_json(**overrides: Any) -> bytes:
    """The claims with `overrides` written as raw JSON text (NaN, 1e400, numbers as text...)."""
    kept = {name: value for name, value in _claims().items() if name not in overrides}
    members = b"".join(f',"{name}":{raw}'.encode() for name, raw in overrides.items())
    return _json(kept)[:-1] + members + b"}"


HEADER: dict[str, Any] = {"alg": "HS256", "typ": "JWT"}


def sign_segments(header_segment: str, payload_segment: str) -> str:
    """A token whose signature over these exact segments is valid for our key."""
    signing_input = f"{header_segment}.{payload_segment}"
    signature = hmac.new(KEY.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def forge(header: object = HEADER, payload: object = None, *, raw: bytes | None = None) -> str:
    """A token signed with our key around any header and payload (defaults: a valid token)."""
    header_bytes = header if isinstance(header, bytes) else _json(header)
    body = raw if raw is not None else _json(_claims() if payload is None else payload)
    return sign_segments(_b64(header_bytes), _b64(body))


def _replace_segment(token: str, index: int, segment: str) -> str:
    segments = token.split(".")
    segments[index] = segment
    return ".".join(segments)


def _tampered_payload() -> str:
    other = forge(payload=_claims(sub="0b7c1f52-1d9c-4f0e-a8b4-2f6f3b5d9e12")).split(".")[1]
    return _replace_segment(forge(), 1, other)


def _tampered_signature() -> str:
    signature = forge().split(".")[2]
    flipped = ALPHABET[(ALPHABET.index(signature[0]) + 1) % 64] + signature[1:]
    return _replace_segment(forge(), 2, flipped)


def _non_canonical_signature() -> str:
    # 32 bytes are 43 characters; the last one's two low bits are padding. Setting one decodes
    # to the very same (valid) signature: only a canonical-encoding check refuses it.
    signature = forge().split(".")[2]
    last = ALPHABET[ALPHABET.index(signature[-1]) ^ 1]
    return _replace_segment(forge(), 2, signature[:-1] + last)


def _standard_alphabet() -> str:
    # Python's urlsafe_b64decode also takes "+" and "/": the same bytes, a different string.
    for jti in range(1000):
        token = forge(payload=_claims(jti=str(jti)))
        if "-" in token or "_" in token:
            return token.replace("-", "+").replace("_", "/")
    raise AssertionError("no token with - or _")


def _padded() -> str:
    # PyJWT accepts '=' padding on a segment; RFC 7515 JWS segments have none.
    for filler in range(4):
        segment = _b64(_json(_claims(pad="x" * filler)))
        if len(segment) % 4:
            return sign_segments(_b64(_json(HEADER)), segment + "=" * (-len(segment) % 4))
    raise AssertionError("no payload needing padding")


def _rs256() -> str:
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(_claims(), private, algorithm="RS256")


def _segments(count: int) -> str:
    header, payload, signature = forge().split(".")
    return ".".join([header, payload, signature, signature][:count])


# Each differs from `forge()`, a valid token, in one respect; PyJWT refuses each too.
REFUSED_BY_BOTH: dict[str, Callable[[], str]] = {
    "tampered-payload": _tampered_payload,
    "tampered-signature": _tampered_signature,
    "wrong-key": lambda: jwt.encode(_claims(), "k" * 48, algorithm="HS256"),
    "alg-none": lambda: jwt.encode(_claims(), "", algorithm="none"),  # "": no key, typed
    "alg-none-but-signed": lambda: forge({"alg": "none", "typ": "JWT"}),
    "alg-hs512": lambda: jwt.encode(_claims(), KEY, algorithm="HS512"),
    "alg-hs512-header-only": lambda: forge({"alg": "HS512", "typ": "JWT"}),
    "alg-rs256": _rs256,
    "alg-lower-case": lambda: forge({"alg": "hs256", "typ": "JWT"}),
    "alg-missing": lambda: forge({"typ": "JWT"}),
    "header-not-object": lambda: forge(["HS256"]),
    "header-not-json": lambda: forge(b"{alg:HS256}"),
    "kid-not-string": lambda: forge({**HEADER, "kid": 7}),
    "crit-unknown": lambda: forge({**HEADER, "crit": ["exp"], "exp": 1}),
    "unencoded-payload": lambda: forge({**HEADER, "b64": False, "crit": ["b64"]}),
    "payload-list": lambda: forge(payload=[_claims()]),
    "payload-string": lambda: forge(payload="claims"),
    "payload-number": lambda: forge(payload=7),
    "payload-not-json": lambda: forge(raw=b"sub=me"),
    "payload-not-utf8": lambda: forge(raw=b'{"sub":"\xff"}'),
    "one-segment": lambda: _segments(1),
    "two-segments": lambda: _segments(2),
    "four-segments": lambda: _segments(4),
    "empty": lambda: "",
    "dots-only": lambda: "..",
    "garbage": lambda: "not.a.jwt",
    "empty-signature": lambda: _replace_segment(forge(), 2, ""),
    "base64-bad-character": lambda: "!" + forge()[1:],
    "base64-standard-alphabet": _standard_alphabet,
    "base64-impossible-length": lambda: forge() + "AA",
    "base64-non-ascii": lambda: forge() + "é",
    "base64-non-canonical": _non_canonical_signature,
    "base64-whitespace": lambda: forge().replace(".", ". ", 1),
    "expired": lambda: forge(payload=_claims(iat=NOW - 7200, exp=NOW - 3600)),
    "expires-now": lambda: forge(payload=_claims(exp=NOW)),
    "issued-in-the-future": lambda: forge(payload=_claims(iat=NOW + 30)),
    "not-before-future": lambda: forge(payload=_claims(nbf=NOW + 30)),
    "not-before-null": lambda: forge(raw=_claims_json(nbf="null")),
    "not-before-text": lambda: forge(payload=_claims(nbf="soon")),
    "exp-text": lambda: forge(payload=_claims(exp="never")),
    "exp-infinite": lambda: forge(raw=_claims_json(exp="1e400")),
    "exp-nan": lambda: forge(raw=_claims_json(exp="NaN")),
    "no-exp": lambda: forge(payload=_claims(exp=None)),
    "no-iat": lambda: forge(payload=_claims(iat=None)),
    "no-sub": lambda: forge(payload=_claims(sub=None)),
    "no-iss": lambda: forge(payload=_claims(iss=None)),
    "no-aud": lambda: forge(payload=_claims(aud=None)),
    "null-exp": lambda: forge(raw=_claims_json(exp="null")),
    "null-sub": lambda: forge(raw=_claims_json(sub="null")),
    "wrong-issuer": lambda: forge(payload=_claims(iss="someone-else")),
    "issuer-list": lambda: forge(payload=_claims(iss=["tradebot"])),
    "wrong-audience": lambda: forge(payload=_claims(aud="other-api")),
    "audience-list-without-ours": lambda: forge(payload=_claims(aud=["a", "b"])),
    "audience-empty": lambda: forge(payload=_claims(aud="")),
    "audience-empty-list": lambda: forge(payload=_claims(aud=[])),
    "audience-not-strings": lambda: forge(payload=_claims(aud=["tradebot-api", 1])),
    "audience-object": lambda: forge(payload=_claims(aud={"tradebot-api": 1})),
    "sub-number": lambda: forge(payload=_claims(sub=42)),
    "jti-number": lambda: forge(payload=_claims(jti=42)),
}

# Refused by ours, accepted by PyJWT: where this implementation is deliberately stricter.
REFUSED_BY_US_ONLY: dict[str, Callable[[], str]] = {
    "empty-sub": lambda: forge(payload=_claims(sub="")),  # the application checked it after
    "exp-numeric-string": lambda: forge(payload=_claims(exp=str(NOW + 600))),
    "iat-boolean": lambda: forge(payload=_claims(iat=True)),
    "duplicate-claim": lambda: forge(raw=_json(_claims())[:-1] + b',"iss":"tradebot"}'),
    "padded-base64": _padded,
    "crit-b64-true": lambda: forge({**HEADER, "b64": True, "crit": ["b64"]}),
}


def _refused_by_us(token: object) -> NotAuthenticated:
    with pytest.raises(NotAuthenticated) as refused:
        verify_access_token(token, now=NOW)  # type: ignore[arg-type]
    assert refused.value.detail == "Invalid or expired access token"
    return refused.value


@pytest.mark.usefixtures("pyjwt_at_now")
def test_the_forged_baseline_is_valid_for_both() -> None:
    # Guards the tables below: each entry is this token with one thing changed.
    assert verify_access_token(forge(), now=NOW) == USER
    assert pyjwt_decode(forge())["sub"] == USER


@pytest.mark.usefixtures("pyjwt_at_now")
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("make", REFUSED_BY_BOTH.values(), ids=REFUSED_BY_BOTH.keys())
def test_refused_by_ours_and_by_pyjwt(make: Callable[[], str]) -> None:
    token = make()

    _refused_by_us(token)
    with pytest.raises(jwt.PyJWTError):
        pyjwt_decode(token)


@pytest.mark.usefixtures("pyjwt_at_now")
@pytest.mark.parametrize("make", REFUSED_BY_US_ONLY.values(), ids=REFUSED_BY_US_ONLY.keys())
def test_refused_by_ours_where_pyjwt_is_lenient(make: Callable[[], str]) -> None:
    token = make()

    _refused_by_us(token)
    assert pyjwt_decode(token)  # the token is otherwise valid: this one thing is refused


@pytest.mark.parametrize("token", [None, b"a.b.c", 7, ["a", "b", "c"]], ids=repr)
def test_a_token_that_is_not_a_string_is_refused(token: object) -> None:
    _refused_by_us(token)


def test_a_refusal_carries_neither_the_token_nor_the_key_nor_a_cause() -> None:
    token = forge(payload=_claims(iss="someone-else"))

    error = _refused_by_us(token)

    assert error.__cause__ is None
    assert error.__suppress_context__
    assert error.args == ("Invalid or expired access token",)
    for secret in (token, *token.split("."), KEY):
        assert secret not in str(error)
        assert secret not in repr(error)


def test_tokens_and_settings_import_neither_pyjwt_nor_cryptography_nor_pydantic_settings() -> None:
    # The point of the standard-library HS256: a route's cold start does not pay for them.
    code = (
        "import sys, tradebot.auth.tokens, tradebot.settings; "
        "print(sorted(m for m in ('jwt', 'cryptography', 'pydantic_settings') if m in sys.modules))"
    )
    loaded = subprocess.run(  # this interpreter, a fixed argument list
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()

    assert loaded == "[]"

"""Settings: placeholder secrets refused in AWS, list and map parsing, the database URL."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from tradebot.app_secrets import AppSecrets
from tradebot.crypto.vault import generate_key
from tradebot.settings import DEV_FERNET_KEY, DEV_JWT_SECRET, Settings

REAL_JWT = "a-real-production-jwt-secret-of-enough-length-0123456789"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An AWS environment without SECRETS_NAME, real secrets unless a test says otherwise."""
    monkeypatch.setenv("APP_ENV", "aws")
    monkeypatch.delenv("SECRETS_NAME", raising=False)
    monkeypatch.setenv("JWT_SECRET", REAL_JWT)
    monkeypatch.setenv("FERNET_KEYS", generate_key())
    return monkeypatch


def test_real_secrets_are_accepted_in_aws(aws: pytest.MonkeyPatch) -> None:
    assert Settings().app_env == "aws"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("JWT_SECRET", DEV_JWT_SECRET),
        ("JWT_SECRET", "changethis"),
        ("FERNET_KEYS", DEV_FERNET_KEY),
        ("FERNET_KEYS", f"{generate_key()},{DEV_FERNET_KEY}"),
    ],
    ids=["dev-jwt", "changethis", "dev-fernet", "dev-fernet-among-real"],
)
def test_placeholder_secrets_are_refused_in_aws_without_secrets_manager(
    aws: pytest.MonkeyPatch, name: str, value: str
) -> None:
    aws.setenv(name, value)

    with pytest.raises(ValidationError, match="development placeholder"):
        Settings()


def test_the_refusal_does_not_print_the_secrets(aws: pytest.MonkeyPatch) -> None:
    # pydantic would print the input (the environment, truncated to its head and tail): with
    # the Fernet keys the last value set, the tail is the real key.
    real_key = generate_key()
    aws.setenv("FERNET_KEYS", f"{DEV_FERNET_KEY},{real_key}")
    aws.delenv("RATE_LIMITS")

    with pytest.raises(ValidationError) as refused:
        Settings()

    message = str(refused.value)
    assert real_key[-20:] not in message
    assert REAL_JWT[-20:] not in message


def test_placeholders_are_allowed_when_secrets_come_from_secrets_manager(
    aws: pytest.MonkeyPatch,
) -> None:
    # The env values are then unused; the stored secret is checked when it is read.
    aws.setenv("SECRETS_NAME", "tradebot/app")
    aws.setenv("JWT_SECRET", DEV_JWT_SECRET)

    assert Settings().secrets_name == "tradebot/app"


def test_placeholders_are_allowed_for_local_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "local")
    monkeypatch.setenv("JWT_SECRET", DEV_JWT_SECRET)

    assert Settings().is_local


@pytest.mark.parametrize(
    ("raw", "origins"),
    [
        ("https://app.example.com", ["https://app.example.com"]),
        (" https://a.example.com , https://b.example.com ,", ["https://a.example.com", "https://b.example.com"]),
        ('["https://a.example.com", "http://localhost:3000"]', ["https://a.example.com", "http://localhost:3000"]),
    ],
    ids=["one", "comma-separated", "json-list"],
)  # fmt: skip
def test_cors_origins_are_read_as_a_list(
    monkeypatch: pytest.MonkeyPatch, raw: str, origins: list[str]
) -> None:
    monkeypatch.setenv("CORS_ORIGINS", raw)

    assert Settings().cors_origins == origins


def test_rate_limits_are_read_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMITS", '{"read": 5, "write": 2, "auth": 1}')

    assert Settings().rate_limits == {"read": 5, "write": 2, "auth": 1}


def test_malformed_rate_limits_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMITS", '{"read": "many"}')

    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@db:5432/app", "postgresql+pg8000://u:p@db:5432/app"),
        ("postgres://u:p@db/app", "postgresql+pg8000://u:p@db/app"),
        ("postgresql+pg8000://u@db/app", "postgresql+pg8000://u@db/app"),
        ("sqlite:///tmp/x.db", "sqlite:///tmp/x.db"),
    ],
)
def test_sqlalchemy_url_names_the_pg8000_driver(
    monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)

    assert Settings().sqlalchemy_url == expected


def test_app_secrets_refuse_a_short_jwt_key_without_echoing_it() -> None:
    short = "only-twenty-chars-xy"

    with pytest.raises(ValidationError) as refused:
        AppSecrets.model_validate({"jwt_secret": short, "fernet_keys": generate_key()})

    assert "256 bits" in str(refused.value)
    assert short not in str(refused.value)


def test_app_secrets_list_fernet_keys_newest_first() -> None:
    new, old = generate_key(), generate_key()

    secrets = AppSecrets.model_validate({"jwt_secret": REAL_JWT, "fernet_keys": f" {new} , {old},"})

    assert secrets.fernet_key_list == [new, old]
    assert new not in repr(secrets)

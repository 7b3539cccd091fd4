"""Settings: placeholder secrets refused in AWS, list and map parsing, the database URL.

And the environment mapping, which is pydantic-settings' (env_prefix "", case-insensitive,
empty values kept, JSON for container fields unless NoDecode) without importing it.
"""

from __future__ import annotations

from typing import Annotated, get_origin

import pytest
from pydantic import SecretStr, ValidationError
from tradebot.app_secrets import AppSecrets
from tradebot.crypto.vault import generate_key
from tradebot.settings import (
    DEV_FERNET_KEY,
    DEV_JWT_SECRET,
    EnvSettings,
    NoDecode,
    Settings,
    SettingsError,
    environment_values,
    get_settings,
)

from tests.support import configure

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


# --- the environment mapping ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["JWT_ISSUER", "jwt_issuer", "Jwt_Issuer"])
def test_a_field_is_read_from_its_variable_in_any_case(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.delenv("JWT_ISSUER", raising=False)
    monkeypatch.setenv(name, "issuer-from-env")

    assert Settings().jwt_issuer == "issuer-from-env"


def test_values_are_converted_to_the_field_types(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_SIZE", "4")
    monkeypatch.setenv("DB_CONNECT_TIMEOUT_S", "1e1")
    monkeypatch.setenv("PAPER_FEE_RATE", "0.002")
    monkeypatch.setenv("DB_POOL", "null")
    monkeypatch.setenv("JWT_ISSUER", " spaced ")

    settings = Settings()

    assert settings.db_pool_size == 4
    assert settings.db_connect_timeout_s == 10.0
    assert str(settings.paper_fee_rate) == "0.002"
    assert settings.db_pool == "null"  # a literal, not JSON's null
    assert settings.jwt_issuer == " spaced "  # as given


def test_keyword_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_ISSUER", "from-env")
    monkeypatch.setenv("JWT_AUDIENCE", "audience-from-env")

    settings = Settings(jwt_issuer="from-kwargs", not_a_field="ignored")

    assert settings.jwt_issuer == "from-kwargs"
    assert settings.jwt_audience == "audience-from-env"


def test_unknown_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEBOT_JWT_ISSUER", "prefixed")
    monkeypatch.setenv("JWT_ISSUER_X", "suffixed")
    monkeypatch.setenv("SOMETHING_ELSE", '{"not": "json for anyone"')
    monkeypatch.delenv("JWT_ISSUER", raising=False)

    assert Settings().jwt_issuer == "tradebot"


def test_an_empty_variable_is_a_value_not_an_absence(monkeypatch: pytest.MonkeyPatch) -> None:
    # pydantic-settings' env_ignore_empty=False: "" is what the field gets.
    monkeypatch.setenv("DATABASE_URL", "")
    monkeypatch.setenv("REDIS_PREFIX", "")
    monkeypatch.setenv("CORS_ORIGINS", "")

    settings = Settings()

    assert settings.database_url == ""
    assert settings.redis_prefix == ""
    assert settings.cors_origins == []


@pytest.mark.parametrize("name", ["DB_POOL_SIZE", "RATE_LIMITS", "APP_ENV"])
def test_an_empty_variable_of_a_typed_field_is_refused(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "")

    with pytest.raises(ValidationError):
        Settings()


def test_get_settings_reads_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, jwt_issuer="first")
    first = get_settings()
    monkeypatch.setenv("JWT_ISSUER", "second")

    assert get_settings() is first
    assert first.jwt_issuer == "first"
    get_settings.cache_clear()
    assert get_settings().jwt_issuer == "second"


def test_only_the_two_parsed_fields_are_containers() -> None:
    # pydantic-settings would JSON-decode any other list/dict/model field; environment_values
    # does too (tested below), but today no other field needs it.
    containers = {
        name
        for name, field in Settings.model_fields.items()
        if get_origin(field.annotation) in (list, dict, set, tuple, frozenset)
    }
    assert containers == {"cors_origins", "rate_limits"}
    assert all(NoDecode in Settings.model_fields[name].metadata for name in containers)


class _Containers(EnvSettings):
    tags: list[str] = []
    limits: dict[str, int] | None = None
    raw: Annotated[list[str], NoDecode] = []
    name: str = ""


def test_container_fields_take_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAGS", '["a", "b"]')
    monkeypatch.setenv("LIMITS", '{"read": 5}')
    monkeypatch.setenv("NAME", '["not", "decoded"]')

    settings = _Containers()

    assert settings.tags == ["a", "b"]
    assert settings.limits == {"read": 5}
    assert settings.name == '["not", "decoded"]'  # a str field keeps its text


def test_a_no_decode_field_gets_the_raw_string() -> None:
    assert environment_values(_Containers, {"RAW": "[1, 2"}) == {"raw": "[1, 2"}
    assert environment_values(_Containers, {"raw": "a,b", "other": "x"}) == {"raw": "a,b"}
    assert environment_values(_Containers, {}) == {}


def test_a_union_container_field_keeps_text_that_is_not_json() -> None:
    # As pydantic-settings: for `dict | None`, a non-JSON value is left to validation.
    assert environment_values(_Containers, {"LIMITS": "nope"}) == {"limits": "nope"}


def test_a_container_field_that_is_not_json_names_the_field_not_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TAGS", "[hunter2-secret")

    with pytest.raises(SettingsError, match='"tags"') as refused:
        _Containers()

    assert "hunter2" not in str(refused.value)
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__


def test_a_validation_error_never_shows_the_secrets(aws: pytest.MonkeyPatch) -> None:
    real_key = generate_key()
    aws.setenv("FERNET_KEYS", real_key)
    aws.setenv("DB_POOL_SIZE", "many")  # unrelated to the secrets, and shown by name only
    aws.setenv("RATE_LIMITS", '{"read": "' + REAL_JWT + '"}')

    with pytest.raises(ValidationError) as refused:
        Settings()

    message = str(refused.value) + repr(refused.value)
    assert "db_pool_size" in message
    assert "rate_limits" in message
    for secret in (REAL_JWT, real_key, REAL_JWT[:16], real_key[:16], "many"):
        assert secret not in message


def test_secrets_are_secret_str_and_not_in_the_repr(aws: pytest.MonkeyPatch) -> None:
    settings = Settings()

    assert isinstance(settings.jwt_secret, SecretStr)
    assert settings.jwt_secret.get_secret_value() == REAL_JWT
    assert REAL_JWT not in repr(settings)
    assert REAL_JWT not in str(settings.model_dump())

"""App secrets from AWS Secrets Manager through Powertools Parameters (moto stands in for AWS)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import jwt
import pytest
from aws_lambda_powertools.utilities import parameters
from cryptography.fernet import Fernet
from moto import mock_aws
from tradebot.app_secrets import get_app_secrets
from tradebot.crypto.vault import generate_key, get_vault
from tradebot.settings import DEV_FERNET_KEY, DEV_JWT_SECRET, get_settings

from tests.support import call, configure, register_and_login

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

SECRET_NAME = "tradebot/test/app"
STORED_JWT = "stored-in-secrets-manager-jwt-key-0123456789abcdef"


@pytest.fixture
def secrets_manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[SecretsManagerClient]:
    """A mocked Secrets Manager; SECRETS_NAME points the app at it."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # Powertools keeps providers and values across calls (its clear_caches is unannotated).
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    with mock_aws():
        configure(monkeypatch, secrets_name=SECRET_NAME)
        yield boto3.client("secretsmanager", region_name="us-east-1")
    parameters.clear_caches()  # type: ignore[no-untyped-call]


def _store(client: SecretsManagerClient, jwt_secret: str, fernet_keys: str) -> None:
    payload = json.dumps({"jwt_secret": jwt_secret, "fernet_keys": fernet_keys})
    client.create_secret(Name=SECRET_NAME, SecretString=payload)


def test_secrets_come_from_the_stored_json(secrets_manager: SecretsManagerClient) -> None:
    fernet_key = generate_key()
    _store(secrets_manager, STORED_JWT, fernet_key)

    secrets = get_app_secrets()

    assert secrets.jwt_secret.get_secret_value() == STORED_JWT
    assert secrets.fernet_key_list == [fernet_key]
    assert get_settings().jwt_secret.get_secret_value() != STORED_JWT  # env is not used


def test_tokens_are_signed_with_the_stored_key(secrets_manager: SecretsManagerClient) -> None:
    _store(secrets_manager, STORED_JWT, generate_key())

    user_id, token = register_and_login()

    settings = get_settings()
    claims = jwt.decode(token, STORED_JWT, algorithms=["HS256"], audience=settings.jwt_audience)
    assert claims["sub"] == user_id
    assert call("auth_me", token=token).status == 200


def test_credentials_are_encrypted_with_the_stored_fernet_key(
    secrets_manager: SecretsManagerClient,
) -> None:
    fernet_key = generate_key()
    _store(secrets_manager, STORED_JWT, fernet_key)

    token = get_vault().encrypt("plaintext")

    assert Fernet(fernet_key.encode()).decrypt(token.encode()) == b"plaintext"


@pytest.mark.parametrize(
    ("jwt_secret", "fernet_keys"),
    [(DEV_JWT_SECRET, "real"), ("real", DEV_FERNET_KEY), ("real", f"real,{DEV_FERNET_KEY}")],
    ids=["jwt", "fernet", "fernet-among-real"],
)
def test_stored_placeholders_are_refused_in_aws(
    secrets_manager: SecretsManagerClient,
    monkeypatch: pytest.MonkeyPatch,
    jwt_secret: str,
    fernet_keys: str,
) -> None:
    real_jwt, real_fernet = STORED_JWT, generate_key()
    _store(
        secrets_manager,
        real_jwt if jwt_secret == "real" else jwt_secret,
        fernet_keys.replace("real", real_fernet),
    )
    configure(monkeypatch, app_env="aws")

    with pytest.raises(ValueError, match="placeholders") as refused:
        get_app_secrets()

    assert real_jwt not in str(refused.value)
    assert real_fernet not in str(refused.value)


def test_stored_placeholders_are_tolerated_locally(secrets_manager: SecretsManagerClient) -> None:
    _store(secrets_manager, DEV_JWT_SECRET, DEV_FERNET_KEY)

    assert get_app_secrets().jwt_secret.get_secret_value() == DEV_JWT_SECRET


def test_a_short_stored_jwt_key_is_refused_without_echoing_it(
    secrets_manager: SecretsManagerClient,
) -> None:
    _store(secrets_manager, "short-key", generate_key())

    with pytest.raises(ValueError, match="256 bits") as refused:
        get_app_secrets()

    assert "short-key" not in str(refused.value)

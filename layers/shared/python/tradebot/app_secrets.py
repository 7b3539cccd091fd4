"""The application's own secrets (JWT key, Fernet keys): Secrets Manager in AWS, env locally."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from tradebot.settings import PLACEHOLDERS, get_settings


class AppSecrets(BaseModel):
    """Key material; every field is a `SecretStr`, so printing it reveals nothing."""

    # hide_input_in_errors: a rejected secret must not be echoed into the error (and the log).
    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    # The JWT key ring: one key, or several comma-separated, newest first (see `jwt_keys`).
    jwt_secret: SecretStr
    fernet_keys: SecretStr

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        keys = _split(value)
        if not keys or any(len(key.encode()) < 32 for key in keys):
            raise ValueError("jwt_secret must be at least 256 bits (each key of the ring)")
        return value

    @property
    def jwt_keys(self) -> list[str]:
        """JWT signing keys, newest first: tokens are signed with the first, any verifies."""
        return _split(self.jwt_secret)

    @property
    def fernet_key_list(self) -> list[str]:
        """Fernet keys, newest first."""
        return _split(self.fernet_keys)


def _split(value: SecretStr) -> list[str]:
    """The comma-separated keys of `value`, blanks dropped."""
    return [k.strip() for k in value.get_secret_value().split(",") if k.strip()]


def get_app_secrets() -> AppSecrets:
    """Current secrets; from Secrets Manager (cached `secrets_max_age_s`) when SECRETS_NAME is set.

    Powertools Parameters keeps its own in-memory cache, so calling this per request is cheap and
    a rotated secret is picked up within the cache age without a cold start.
    """
    settings = get_settings()
    if not settings.secrets_name:
        return AppSecrets(jwt_secret=settings.jwt_secret, fernet_keys=settings.fernet_keys)
    # Imported here: boto3 is only paid for by environments that really read Secrets Manager.
    from aws_lambda_powertools.utilities import parameters

    raw = parameters.get_secret(
        settings.secrets_name, transform="json", max_age=settings.secrets_max_age_s
    )
    secrets = AppSecrets.model_validate(raw)
    if not settings.is_local:
        values = [*secrets.jwt_keys, *secrets.fernet_key_list]
        if any(value in PLACEHOLDERS for value in values):
            raise ValueError("the stored secrets are development placeholders")
    return secrets

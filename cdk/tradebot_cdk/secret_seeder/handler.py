"""Custom resource: fill the app secret with a JWT key and a Fernet key, once.

Runs inside CloudFormation (through the CDK Provider framework) on the Lambda runtime, so it
uses only the standard library and the runtime's boto3. Keys are generated here, from
`os.urandom`, and written straight into Secrets Manager: they never appear in the template,
the custom resource's response, or a log line.

A field that already holds a usable value is never replaced: rotating a Fernet key without
re-encrypting the stored API keys would lock every user out of their exchange account.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from typing import Any, Protocol

JWT_SECRET_BYTES = 48  # 384 bits; the app requires at least 256
FERNET_KEY_BYTES = 32


class SecretsClient(Protocol):
    """The two Secrets Manager calls this needs (boto3's client, or a fake in tests)."""

    def get_secret_value(self, *, SecretId: str) -> dict[str, Any]: ...

    def put_secret_value(self, *, SecretId: str, SecretString: str) -> dict[str, Any]: ...


def new_fernet_key() -> str:
    """A Fernet key: 32 random bytes, url-safe base64 (what `Fernet.generate_key()` makes)."""
    return base64.urlsafe_b64encode(os.urandom(FERNET_KEY_BYTES)).decode()


def new_jwt_secret() -> str:
    """A random HMAC key for signing access tokens."""
    return secrets.token_urlsafe(JWT_SECRET_BYTES)


def _is_fernet_keys(value: object) -> bool:
    if not isinstance(value, str) or not value.strip():
        return False
    for key in value.split(","):
        try:
            if len(base64.urlsafe_b64decode(key.strip().encode())) != FERNET_KEY_BYTES:
                return False
        except (binascii.Error, ValueError):
            return False
    return True


def _is_jwt_secret(value: object) -> bool:
    # One key, or a ring of comma-separated keys newest first: each must be 256 bits or more.
    if not isinstance(value, str):
        return False
    keys = [key.strip() for key in value.split(",") if key.strip()]
    return bool(keys) and all(len(key.encode()) >= 32 for key in keys)


def seeded(current: str) -> str | None:
    """The secret's new JSON text, or None when both keys are already usable."""
    try:
        document = json.loads(current)
    except ValueError:
        document = None
    values: dict[str, Any] = document if isinstance(document, dict) else {}
    changed = False
    if not _is_jwt_secret(values.get("jwt_secret")):
        values["jwt_secret"] = new_jwt_secret()
        changed = True
    if not _is_fernet_keys(values.get("fernet_keys")):
        values["fernet_keys"] = new_fernet_key()
        changed = True
    return json.dumps(values) if changed else None


def seed(client: SecretsClient, secret_id: str) -> bool:
    """Fill in whatever key is missing or unusable; True if the secret was written."""
    current = client.get_secret_value(SecretId=secret_id).get("SecretString", "")
    text = seeded(current)
    if text is None:
        return False
    client.put_secret_value(SecretId=secret_id, SecretString=text)
    return True


def on_event(event: dict[str, Any], _context: object) -> dict[str, Any]:
    """Provider framework entry point: seed on Create and Update, keep the secret on Delete."""
    secret_id = event["ResourceProperties"]["SecretId"]
    if event["RequestType"] in ("Create", "Update"):
        import boto3

        client: Any = boto3.client("secretsmanager")
        seed(client, secret_id)
    # No Data: nothing about the keys leaves Secrets Manager.
    return {"PhysicalResourceId": secret_id}

"""The custom resource that fills the app secret: usable keys, never replaced once set."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet
from tradebot_cdk.secret_seeder.handler import on_event, seed, seeded

EXISTING = {"jwt_secret": "j" * 64, "fernet_keys": Fernet.generate_key().decode()}


class FakeSecrets:
    def __init__(self, value: str) -> None:
        self.value = value
        self.writes = 0

    def get_secret_value(self, *, SecretId: str) -> dict[str, Any]:
        return {"SecretString": self.value}

    def put_secret_value(self, *, SecretId: str, SecretString: str) -> dict[str, Any]:
        self.value = SecretString
        self.writes += 1
        return {}


def test_a_new_secret_gets_a_working_fernet_key_and_a_long_jwt_key() -> None:
    secrets = FakeSecrets("{}")
    assert seed(secrets, "arn") is True
    value = json.loads(secrets.value)
    token = Fernet(value["fernet_keys"].encode()).encrypt(b"api secret")
    assert Fernet(value["fernet_keys"].encode()).decrypt(token) == b"api secret"
    assert len(value["jwt_secret"].encode()) >= 32


def test_usable_keys_are_never_replaced() -> None:
    secrets = FakeSecrets(json.dumps(EXISTING))
    assert seed(secrets, "arn") is False
    assert secrets.writes == 0
    assert json.loads(secrets.value) == EXISTING


def test_only_the_unusable_key_is_replaced_and_other_fields_kept() -> None:
    current = {**EXISTING, "fernet_keys": "not-a-key", "note": "kept"}
    value = json.loads(seeded(json.dumps(current)) or "{}")
    assert value["jwt_secret"] == EXISTING["jwt_secret"]
    assert value["note"] == "kept"
    Fernet(value["fernet_keys"].encode())


def test_a_rotated_key_list_counts_as_usable() -> None:
    rotated = {
        **EXISTING,
        "fernet_keys": f"{Fernet.generate_key().decode()},{EXISTING['fernet_keys']}",
    }
    assert seeded(json.dumps(rotated)) is None


def test_a_generated_password_string_is_replaced_by_json() -> None:
    assert json.loads(seeded("x!Y#not json") or "")["fernet_keys"]


def test_delete_leaves_the_secret_alone_and_returns_no_key_material() -> None:
    response = on_event(
        {"RequestType": "Delete", "ResourceProperties": {"SecretId": "arn:s"}}, None
    )
    assert response == {"PhysicalResourceId": "arn:s"}


def test_a_jwt_key_ring_counts_as_usable_only_if_every_key_is_long_enough() -> None:
    ring = {**EXISTING, "jwt_secret": f"{'n' * 48},{EXISTING['jwt_secret']}"}
    assert seeded(json.dumps(ring)) is None

    weak_ring = {**EXISTING, "jwt_secret": f"{'n' * 48},short"}
    replaced = json.loads(seeded(json.dumps(weak_ring)) or "{}")
    assert "," not in replaced["jwt_secret"]
    assert len(replaced["jwt_secret"].encode()) >= 32

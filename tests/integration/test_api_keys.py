"""Exchange keys: stored only as Fernet tokens, shown masked, switching paper and live."""

from __future__ import annotations

from sqlalchemy import select
from tradebot.crypto.vault import get_vault
from tradebot.db.engine import unit_of_work
from tradebot.db.models import ApiCredential

from tests.support import assert_problem, call, user_with_token

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
API_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
BODY = {"api_key": API_KEY, "api_secret": API_SECRET, "testnet": True}


def _stored_credential(user_id: str) -> ApiCredential:
    with unit_of_work() as session:
        return session.scalars(select(ApiCredential).where(ApiCredential.user_id == user_id)).one()


def test_put_stores_the_key_and_shows_it_masked() -> None:
    _, token = user_with_token()

    reply = call("api_keys_put", token=token, body=BODY)

    assert reply.status == 200
    assert reply.body["exchange"] == "binance"
    assert reply.body["api_key_hint"] == "vmPU…Eh8A"
    assert reply.body["testnet"] is True
    assert reply.body["created_at"].endswith("Z")


def test_the_key_and_secret_never_appear_in_any_response() -> None:
    _, token = user_with_token()

    replies = [
        call("api_keys_put", token=token, body=BODY),
        call("api_keys_get", token=token),
        call("auth_me", token=token),
    ]

    for reply in replies:
        assert reply.status == 200
        assert API_SECRET not in reply.raw_body
        assert API_KEY not in reply.raw_body
        assert API_SECRET[:8] not in reply.raw_body


def test_the_database_holds_only_fernet_tokens_that_decrypt_to_the_key() -> None:
    user_id, token = user_with_token()
    call("api_keys_put", token=token, body=BODY)

    credential = _stored_credential(user_id)
    columns = [str(getattr(credential, c.key)) for c in ApiCredential.__table__.columns]

    assert not any(API_KEY in value or API_SECRET in value for value in columns)
    assert credential.api_key_encrypted.startswith("gAAAAA")  # Fernet version byte
    vault = get_vault()
    assert vault.decrypt(credential.api_key_encrypted).get_secret_value() == API_KEY
    assert vault.decrypt(credential.api_secret_encrypted).get_secret_value() == API_SECRET


def test_get_shows_the_stored_key_masked() -> None:
    _, token = user_with_token()
    stored = call("api_keys_put", token=token, body={**BODY, "testnet": False}).body

    reply = call("api_keys_get", token=token)

    assert reply.status == 200
    assert reply.body == stored
    assert reply.body["testnet"] is False


def test_get_is_404_when_no_key_is_stored() -> None:
    _, token = user_with_token()

    assert_problem(call("api_keys_get", token=token), 404)


def test_storing_a_key_switches_to_live_and_deleting_it_back_to_paper() -> None:
    _, token = user_with_token()
    assert call("auth_me", token=token).body["trading_mode"] == "paper"

    call("api_keys_put", token=token, body=BODY)
    assert call("auth_me", token=token).body["trading_mode"] == "live"

    deleted = call("api_keys_delete", token=token)
    assert deleted.status == 204
    assert deleted.raw_body == ""
    assert call("auth_me", token=token).body["trading_mode"] == "paper"
    assert_problem(call("api_keys_get", token=token), 404)


def test_a_second_put_replaces_the_first_key() -> None:
    user_id, token = user_with_token()
    call("api_keys_put", token=token, body=BODY)

    new_key = "A" * 30 + "newkey1234"
    reply = call("api_keys_put", token=token, body={**BODY, "api_key": new_key})

    assert reply.body["api_key_hint"] == "AAAA…1234"
    with unit_of_work() as session:
        rows = list(session.scalars(select(ApiCredential).where(ApiCredential.user_id == user_id)))
    assert len(rows) == 1
    assert get_vault().decrypt(rows[0].api_key_encrypted).get_secret_value() == new_key


def test_delete_without_a_key_is_still_204() -> None:
    _, token = user_with_token()

    assert call("api_keys_delete", token=token).status == 204


def test_a_key_with_symbols_is_refused_without_echoing_it() -> None:
    _, token = user_with_token()
    bad_secret = "secret-with-dashes-" + "x" * 20

    reply = call("api_keys_put", token=token, body={**BODY, "api_secret": bad_secret})

    assert_problem(reply, 422)
    assert [e["field"] for e in reply.body["errors"]] == ["api_secret"]
    assert bad_secret not in reply.raw_body


def test_one_users_key_is_invisible_to_another() -> None:
    _, alice = user_with_token("alice@example.com")
    _, bob = user_with_token("bob@example.com")
    call("api_keys_put", token=alice, body=BODY)

    assert_problem(call("api_keys_get", token=bob), 404)
    assert call("auth_me", token=bob).body["trading_mode"] == "paper"

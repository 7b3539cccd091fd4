"""Registration, login and the current user, through the Lambda handlers."""

from __future__ import annotations

from tests.support import assert_problem, call, error_fields, register_and_login

PASSWORD = "correct horse battery staple"


def test_register_creates_an_account_and_answers_201() -> None:
    reply = call("auth_register", body={"email": "trader@example.com", "password": PASSWORD})

    assert reply.status == 201
    assert reply.body["email"] == "trader@example.com"
    assert set(reply.body) == {"id", "email"}
    assert PASSWORD not in reply.raw_body


def test_register_stores_the_email_in_lower_case() -> None:
    reply = call("auth_register", body={"email": " Trader@Example.COM ", "password": PASSWORD})

    assert reply.status == 201
    assert reply.body["email"] == "trader@example.com"


def test_an_email_already_taken_is_409_whatever_its_case() -> None:
    register_and_login("trader@example.com")

    again = call("auth_register", body={"email": "TRADER@example.com", "password": PASSWORD})

    assert_problem(again, 409)


def test_a_weak_password_is_422_naming_password() -> None:
    reply = call("auth_register", body={"email": "trader@example.com", "password": "password1234"})

    assert_problem(reply, 422)
    assert error_fields(reply) == ["password"]


def test_a_password_containing_the_email_is_refused() -> None:
    reply = call(
        "auth_register", body={"email": "satoshi@example.com", "password": "satoshi-rules-2026"}
    )

    assert_problem(reply, 422)
    assert error_fields(reply) == ["password"]


def test_a_malformed_email_is_422_naming_email() -> None:
    reply = call("auth_register", body={"email": "not-an-email", "password": PASSWORD})

    assert_problem(reply, 422)
    assert error_fields(reply) == ["email"]
    assert "not-an-email" not in reply.raw_body


def test_login_returns_a_bearer_token_with_its_lifetime() -> None:
    register_and_login("trader@example.com")

    reply = call("auth_login", body={"email": "Trader@Example.com", "password": PASSWORD})

    assert reply.status == 200
    assert reply.body["token_type"] == "bearer"
    assert isinstance(reply.body["expires_in"], int)
    assert reply.body["expires_in"] > 0
    assert reply.body["access_token"].count(".") == 2


def test_a_wrong_password_and_an_unknown_email_get_the_same_401() -> None:
    register_and_login("trader@example.com")

    wrong_password = call(
        "auth_login", body={"email": "trader@example.com", "password": PASSWORD + "!"}
    )
    unknown_email = call("auth_login", body={"email": "nobody@example.com", "password": PASSWORD})

    assert_problem(wrong_password, 401)
    assert_problem(unknown_email, 401)
    assert wrong_password.body == unknown_email.body
    assert wrong_password.headers["www-authenticate"] == "Bearer"


def test_me_shows_the_user_in_paper_mode() -> None:
    user_id, token = register_and_login("trader@example.com")

    reply = call("auth_me", token=token)

    assert reply.status == 200
    assert reply.body == {
        "id": user_id,
        "email": "trader@example.com",
        "trading_mode": "paper",
        "two_factor": False,
    }


def test_a_token_is_only_good_for_its_own_user() -> None:
    alice_id, alice_token = register_and_login("alice@example.com")
    bob_id, bob_token = register_and_login("bob@example.com")

    assert call("auth_me", token=alice_token).body["id"] == alice_id
    assert call("auth_me", token=bob_token).body["id"] == bob_id

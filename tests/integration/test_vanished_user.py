"""A valid token whose user no longer exists must never produce a 500."""

from sqlalchemy import delete
from tradebot.db.engine import unit_of_work
from tradebot.db.models import User

from tests.support import call, register_and_login


def test_requests_with_the_token_of_a_deleted_user_are_401_not_a_server_error() -> None:
    user_id, token = register_and_login("gone@example.com")
    with unit_of_work() as session:
        session.execute(delete(User).where(User.id == user_id))

    # The token's session went with the user (ON DELETE CASCADE): the token is refused.
    note = call("notes_create", token=token, body={"title": "orphan"})
    me = call("auth_me", token=token)

    assert note.status == 401
    assert note.content_type == "application/problem+json"
    assert me.status == 401

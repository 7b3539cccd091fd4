"""The account flow end to end through the Lambda handlers."""

from tests.support import call, register_and_login


def test_registered_user_logs_in_and_sees_paper_mode() -> None:
    user_id, token = register_and_login()
    me = call("auth_me", token=token)
    assert me.status == 200
    assert me.body == {
        "id": user_id,
        "email": "trader@example.com",
        "trading_mode": "paper",
        "two_factor": False,
    }
